#!/usr/bin/env bash
# Downloads the Logpush objects of the lookback window from R2 into .logpush/, with the
# aws CLI against R2's S3 endpoint. Logpush writes <prefix>/<YYYYMMDD>/<start>_<end>_<hash>.log.gz
# (UTC), so only the day folders the window touches are fetched; collect then skips, by
# name, the files of those days that lie wholly outside the window.
# Env: ACCOUNT_ID, BUCKET, PREFIXES (space-separated), LOOKBACK (30m, 6h, 24h, 7d),
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (an R2 token with Object Read only).
set -euo pipefail
: "${ACCOUNT_ID:?set the CLOUDFLARE_ACCOUNT_ID variable}" "${BUCKET:?set the LOGPUSH_R2_BUCKET variable}" "${PREFIXES:?set the LOGPUSH_PREFIXES variable}"
if ! [[ "$ACCOUNT_ID" =~ ^[0-9a-fA-F]{32}$ ]]; then echo "CLOUDFLARE_ACCOUNT_ID must be 32 hex characters" >&2; exit 1; fi
if ! [[ "${LOOKBACK:-24h}" =~ ^([1-9][0-9]{0,4})([mhd])$ ]]; then echo "lookback: use e.g. 30m, 6h, 24h, 7d" >&2; exit 1; fi
n=${BASH_REMATCH[1]}
case ${BASH_REMATCH[2]} in m) minutes=$n ;; h) minutes=$((n * 60)) ;; d) minutes=$((n * 1440)) ;; esac
if [ "$minutes" -gt $((31 * 1440)) ]; then echo "lookback: at most 31d" >&2; exit 1; fi
endpoint="https://${ACCOUNT_ID}.r2.cloudflarestorage.com"
now=$(date -u +%s)
start=$((now - minutes * 60))
# Every prefix is checked before anything is fetched; a prefix is also the local folder, so
# it may not climb out of .logpush.
for prefix in $PREFIXES; do
  if ! [[ "$prefix" =~ ^[A-Za-z0-9._/=-]+$ ]]; then echo "LOGPUSH_PREFIXES: \"$prefix\" has characters outside A-Z a-z 0-9 . _ / = -" >&2; exit 1; fi
  if [[ "/$prefix/" == *"/../"* || "$prefix" == /* ]]; then echo "LOGPUSH_PREFIXES: \"$prefix\" must be a relative object prefix without .." >&2; exit 1; fi
done
mkdir -p .logpush
for prefix in $PREFIXES; do
  prefix=${prefix%/}
  day=$start
  while [ "$day" -le $((now + 86400)) ]; do
    d=$(date -u -d "@$day" +%Y%m%d)
    aws s3 cp --recursive --only-show-errors --endpoint-url "$endpoint" \
      --exclude '*' --include '*.log.gz' \
      "s3://${BUCKET}/${prefix}/${d}/" ".logpush/${prefix}/${d}/"
    day=$((day + 86400))
  done
done
echo "Fetched $(find .logpush -name '*.log.gz' | wc -l) Logpush object(s) into .logpush/."
