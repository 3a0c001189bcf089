#!/usr/bin/env bash
# Rebuilds action/dist from the source and fails if the committed bundle differs.
# Run by .ci/run (every CI run) and by the sync workflow before it hands the Zero Trust Edit
# token to the bundle: a hand-edited bundle that no longer matches its reviewed source must
# never run with that token.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
if [ -n "$(git status --porcelain -- action/dist)" ]; then
  echo "action/dist does not match the source. Run 'npm run build' and commit action/dist:" >&2
  git status --porcelain -- action/dist >&2
  git --no-pager diff --stat -- action/dist >&2
  exit 1
fi
echo "action/dist matches the source."
