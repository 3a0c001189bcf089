import { createRequire as __gtbCreateRequire } from 'node:module'; const require = __gtbCreateRequire(import.meta.url);
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
  get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
}) : x)(function(x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});
var __commonJS = (cb, mod) => function __require2() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// action/src/core/devices.ts
var DEFAULT_CERTLESS = { minDestinations: 10, minFailedPercent: 50 };
function isCertless(t, th) {
  if (t.failedDestinations < th.minDestinations) return false;
  const total = Math.max(t.tlsSessions, t.failedSessions);
  return total > 0 && t.failedSessions * 100 >= th.minFailedPercent * total;
}
function compareTallies(a, b) {
  return b.failedDestinations - a.failedDestinations || b.failedSessions - a.failedSessions || b.tlsSessions - a.tlsSessions;
}
function cleanTally(t) {
  const n = (x) => typeof x === "number" && Number.isFinite(x) && x >= 0 ? Math.floor(x) : 0;
  return { tlsSessions: n(t?.tlsSessions), failedSessions: n(t?.failedSessions), failedDestinations: n(t?.failedDestinations) };
}
function safeRule(th, ports) {
  const int = (x, min, max) => Number.isSafeInteger(x) && x >= min && x <= max;
  const thresholds = {
    minDestinations: int(th?.minDestinations, 1, 1e6) ? th.minDestinations : DEFAULT_CERTLESS.minDestinations,
    minFailedPercent: int(th?.minFailedPercent, 1, 100) ? th.minFailedPercent : DEFAULT_CERTLESS.minFailedPercent
  };
  const good = [...new Set((ports ?? []).filter((p) => int(p, 1, 65535)))].sort((a, b) => a - b);
  return { thresholds, ports: good.length ? good : [443] };
}
var FAILED = "upper(replace(connectionclosereason, '_', '')) = 'CLIENTTLSERROR'";
var DESTINATION = "CASE WHEN sni <> '' THEN lower(sni) ELSE originip END";
function rfc3339(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
function findCertlessSql(window, th, ports) {
  const rule = safeRule(th, ports);
  const to = Number.isFinite(window.to) && window.to > 0 ? window.to : Date.now();
  const from = window.from !== null && Number.isFinite(window.from) && window.from < to ? window.from : to - 864e5;
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  const failedDestinations = `COUNT(DISTINCT CASE WHEN ${FAILED}
    THEN ${DESTINATION} END)`;
  const failedSessions = `SUM(CASE WHEN ${FAILED}
    THEN 1 ELSE 0 END)`;
  return [
    "SELECT deviceid, MAX(devicename) AS device_name, MAX(email) AS email,",
    `  ${failedDestinations} AS failed_destinations,`,
    `  ${failedSessions} AS failed_sessions,`,
    "  COUNT(*) AS tls_sessions",
    "FROM zero_trust_network_sessions",
    `WHERE date >= '${day(from)}' AND date <= '${day(to - 1)}'`,
    `  AND sessionstarttime >= '${rfc3339(from)}' AND sessionstarttime < '${rfc3339(to)}'`,
    `  AND originport IN (${rule.ports.join(", ")}) AND deviceid <> ''`,
    "GROUP BY deviceid",
    `HAVING ${failedDestinations} >= ${rule.thresholds.minDestinations}`,
    `  AND ${failedSessions} * 100 >= ${rule.thresholds.minFailedPercent} * COUNT(*)`,
    "ORDER BY failed_destinations DESC",
    "LIMIT 100"
  ].join("\n");
}
function findCertlessShell(th, ports) {
  const rule = safeRule(th, ports);
  const select = `fromjson? | select((.DeviceID // "") != "" and (.OriginPort as $p | any(${rule.ports.join(", ")}; . == ($p | tonumber? // -1)))) | [.DeviceID, (if ((.ConnectionCloseReason // "") | ascii_upcase | gsub("_"; "")) == "CLIENTTLSERROR" then 1 else 0 end), (if (.SNI // "") != "" then (.SNI | ascii_downcase) else .OriginIP end)] | @tsv`;
  const count = `{ t[$1]++; if ($2 == 1) { f[$1]++; if (!(($1 FS $3) in s)) { s[$1 FS $3] = 1; d[$1]++ } } } END { for (k in t) if (d[k] >= ${rule.thresholds.minDestinations} && f[k] * 100 >= ${rule.thresholds.minFailedPercent} * t[k]) print d[k], f[k], t[k], k }`;
  return [
    // One gzip per file (given several, gzip stops at the first truncated one), each output
    // ending with a newline (a truncated file's last half line must not swallow the next file's first).
    `find LOGPUSH_DIR -name '*.log.gz' -exec sh -c 'gzip -dc "$1"; echo' sh {} \\; 2>/dev/null |`,
    `  jq -Rr '${select}' |`,
    `  awk -F '\\t' '${count}' | sort -rn`
  ].join("\n");
}

// action/src/core/values.ts
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
var MAX_IP_INPUT = 100;
var MAX_HOST_INPUT = 1024;
var fail = (reason) => ({ ok: false, reason });
function bitsOf(version) {
  return version === 4 ? 32 : 128;
}
function hostMask(version, prefix) {
  return (1n << BigInt(bitsOf(version) - prefix)) - 1n;
}
function parseIpv4(s) {
  const parts = s.split(".");
  if (parts.length !== 4) return { ok: false, reason: "not a valid IPv4 address (expected four dot-separated numbers)" };
  let addr = 0n;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return { ok: false, reason: "not a valid IPv4 address (each part must be a number 0-255)" };
    if (part.length > 1 && part.startsWith("0")) {
      return { ok: false, reason: `IPv4 part "${part}" has a leading zero (octal or decimal? ambiguous); write it without leading zeros` };
    }
    const n = Number(part);
    if (n > 255) return { ok: false, reason: `IPv4 part "${part}" is greater than 255` };
    addr = addr << 8n | BigInt(n);
  }
  return { ok: true, value: addr };
}
function parseGroups(s) {
  if (s === "") return { ok: true, value: [] };
  const groups = [];
  for (const g of s.split(":")) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return { ok: false, reason: "not a valid IPv6 address (groups are 1-4 hex digits)" };
    groups.push(parseInt(g, 16));
  }
  return { ok: true, value: groups };
}
function parseIpv6(s) {
  let body = s;
  let tail = [];
  const lastColon = body.lastIndexOf(":");
  const last = body.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIpv4(last);
    if (!v4.ok) return v4;
    tail = [Number(v4.value >> 16n), Number(v4.value & 0xffffn)];
    body = body.slice(0, lastColon + 1);
    if (body.endsWith(":") && !body.endsWith("::")) body = body.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return { ok: false, reason: 'not a valid IPv6 address ("::" may appear only once)' };
  let groups;
  if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? "");
    const rest = parseGroups(halves[1] ?? "");
    if (!head.ok) return head;
    if (!rest.ok) return rest;
    const missing = 8 - head.value.length - rest.value.length - tail.length;
    if (missing < 1) return { ok: false, reason: "not a valid IPv6 address (too many groups)" };
    groups = [...head.value, ...new Array(missing).fill(0), ...rest.value, ...tail];
  } else {
    const all = parseGroups(body);
    if (!all.ok) return all;
    groups = [...all.value, ...tail];
  }
  if (groups.length !== 8) return { ok: false, reason: "not a valid IPv6 address (expected eight groups)" };
  let addr = 0n;
  for (const g of groups) addr = addr << 16n | BigInt(g);
  return { ok: true, value: addr };
}
function formatIpv4(addr) {
  return [24n, 16n, 8n, 0n].map((shift) => String(addr >> shift & 0xffn)).join(".");
}
function formatIpv6(addr) {
  const groups = [];
  for (let i = 7; i >= 0; i--) groups.push(Number(addr >> BigInt(i * 16) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}
function formatNet(n) {
  const text = n.version === 4 ? formatIpv4(n.addr) : formatIpv6(n.addr);
  return n.prefix === bitsOf(n.version) ? text : `${text}/${n.prefix}`;
}
function parseNet(input) {
  if (typeof input !== "string" || input === "") return { ok: false, reason: "empty value" };
  if (input.length > MAX_IP_INPUT) return { ok: false, reason: `too long to be an IP address or CIDR (${input.length} characters)` };
  if (/\s/.test(input)) return { ok: false, reason: "contains whitespace" };
  if (input.includes("%")) return { ok: false, reason: "IPv6 zone ids (%...) are not allowed; they only mean something on one machine" };
  if (input.startsWith("[")) return { ok: false, reason: "write IPv6 addresses without brackets" };
  const slash = input.split("/");
  if (slash.length > 2) return { ok: false, reason: 'not a valid CIDR (more than one "/")' };
  const [addrText = "", prefixText] = slash;
  const version = addrText.includes(":") ? 6 : 4;
  const bits = bitsOf(version);
  let prefix = bits;
  if (prefixText !== void 0) {
    if (!/^[0-9]{1,3}$/.test(prefixText) || prefixText.length > 1 && prefixText.startsWith("0")) {
      return { ok: false, reason: 'the prefix length after "/" must be a number without leading zeros' };
    }
    prefix = Number(prefixText);
    if (prefix > bits) return { ok: false, reason: `prefix length /${prefix} is larger than /${bits}` };
  }
  const parsed = version === 4 ? parseIpv4(addrText) : parseIpv6(addrText);
  if (!parsed.ok) return parsed;
  if (isIP(addrText) !== version) return { ok: false, reason: `not a valid IPv${version} address` };
  let net = { version, addr: parsed.value, prefix };
  if (version === 6 && parsed.value >> 32n === 0xffffn && prefix >= 96) {
    net = { version: 4, addr: parsed.value & 0xffffffffn, prefix: prefix - 96 };
  }
  return { ok: true, value: net };
}
function canonicalIp(input) {
  const parsed = parseNet(input);
  if (!parsed.ok) return fail(parsed.reason);
  const n = parsed.value;
  const mask = hostMask(n.version, n.prefix);
  if ((n.addr & mask) !== 0n) {
    const network = formatNet({ ...n, addr: n.addr & ~mask });
    return fail(`host bits are set: ${input} is not a network address; did you mean ${network}?`);
  }
  return { ok: true, value: formatNet(n) };
}
function isIpLiteral(s) {
  if (typeof s !== "string" || s.length > MAX_IP_INPUT) return false;
  let t = s;
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  const zone = t.indexOf("%");
  if (zone > 0) t = t.slice(0, zone);
  return isIP(t) !== 0;
}
var LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
function codePoint(ch) {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}
function canonicalHost(input) {
  if (typeof input !== "string" || input === "") return fail("empty value");
  if (input.length > MAX_HOST_INPUT) return fail(`too long to be a hostname (${input.length} characters)`);
  if (/[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/u.test(input)) {
    return fail("contains whitespace or control characters");
  }
  if (input.includes("*")) return fail("wildcards are not allowed in Gateway hostname lists; list the exact hostname");
  if (isIpLiteral(input)) return fail("an IP literal is not a hostname");
  if (input.includes("://") || input.includes("/")) return fail("looks like a URL or path; list the bare hostname");
  if (input.includes(":")) return fail('contains ":" (a port?); list the bare hostname');
  const bad = /[^A-Za-z0-9._\-\u00a0-\u{10ffff}]/u.exec(input);
  if (bad) return fail(`contains the character ${codePoint(bad[0])}, which cannot appear in a hostname`);
  let ascii = input;
  if (/[^\x20-\x7e]/.test(input) || /(^|\.)xn--/i.test(input)) {
    ascii = domainToASCII(input);
    if (ascii === "") return fail("not a valid internationalised domain name");
  } else {
    ascii = input.toLowerCase();
  }
  if (isIpLiteral(ascii) || isIpLiteral(ascii.replace(/\.$/, ""))) return fail("an IP literal is not a hostname");
  if (ascii.endsWith(".")) ascii = ascii.slice(0, -1);
  if (ascii.length > 253) return fail(`hostname is ${ascii.length} characters long; the limit is 253`);
  const labels = ascii.split(".");
  if (labels.length < 2) return fail("a hostname needs at least two labels (e.g. example.com)");
  for (const label of labels) {
    if (label === "") return fail("empty label (two dots in a row, or a leading dot)");
    if (label.length > 63) return fail(`label is ${label.length} characters long; the limit is 63`);
    if (label.startsWith("-") || label.endsWith("-")) return fail('a label cannot start or end with "-"');
    if (!LABEL.test(label)) {
      const ch = /[^a-z0-9_-]/.exec(label)?.[0] ?? "?";
      return fail(`contains the character ${codePoint(ch)}, which cannot appear in a hostname`);
    }
  }
  const tld = labels[labels.length - 1] ?? "";
  if (/^[0-9]+$/.test(tld)) return fail("the last label is all digits, which is not a hostname");
  if (/^0x[0-9a-f]*$/.test(tld)) return fail("the last label is a hex number, which URL parsers treat as an IP address");
  return { ok: true, value: ascii };
}
function canonicalValue(kind, input) {
  return kind === "ip" ? canonicalIp(input) : canonicalHost(input);
}
function compareIps(a, b) {
  const pa = parseNet(a);
  const pb = parseNet(b);
  if (!pa.ok || !pb.ok) {
    if (pa.ok) return -1;
    if (pb.ok) return 1;
    return compareHosts(a, b);
  }
  const x = pa.value;
  const y = pb.value;
  if (x.version !== y.version) return x.version - y.version;
  const xa = x.addr & ~hostMask(x.version, x.prefix);
  const ya = y.addr & ~hostMask(y.version, y.prefix);
  if (xa !== ya) return xa < ya ? -1 : 1;
  if (x.prefix !== y.prefix) return x.prefix - y.prefix;
  return 0;
}
function compareHosts(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
function compareValues(kind, a, b) {
  return kind === "ip" ? compareIps(a, b) : compareHosts(a, b);
}
function ipInNetwork(value, network) {
  const v = canonicalIp(value);
  const n = canonicalIp(network);
  if (!v.ok || !n.ok) return false;
  const pv = parseNet(v.value);
  const pn = parseNet(n.value);
  if (!pv.ok || !pn.ok) return false;
  if (pv.value.version !== pn.value.version || pv.value.prefix < pn.value.prefix) return false;
  const mask = ~hostMask(pn.value.version, pn.value.prefix);
  return (pv.value.addr & mask) === pn.value.addr;
}
var IPV4_IN_IPV6 = [
  { name: "IPv4-mapped", base: 0xffffn << 32n, prefix: 96, shift: 0 },
  { name: "IPv4-compatible", base: 0n, prefix: 96, shift: 0 },
  { name: "IPv4-translated (SIIT)", base: 0xffffn << 48n, prefix: 96, shift: 0 },
  { name: "NAT64 well-known prefix", base: 0x64ff9bn << 96n, prefix: 96, shift: 0 },
  { name: "NAT64 local-use prefix", base: 0x64ff9b0001n << 80n, prefix: 96, shift: 0 },
  { name: "6to4", base: 0x2002n << 112n, prefix: 16, shift: 80 }
];
function contains(outer, inner) {
  if (outer.version !== inner.version || inner.prefix < outer.prefix) return false;
  const mask = ~hostMask(outer.version, outer.prefix);
  return (inner.addr & mask) === (outer.addr & mask);
}
function ipv6EmbeddingOf(v6, v4) {
  const a = parseNet(v6);
  const b = parseNet(v4);
  if (!a.ok || !b.ok || a.value.version !== 6 || b.value.version !== 4) return void 0;
  const six = a.value;
  for (const s of IPV4_IN_IPV6) {
    const image = { version: 6, addr: s.base | b.value.addr << BigInt(s.shift), prefix: s.prefix + b.value.prefix };
    const inside2 = contains(image, six);
    const around = contains(six, image);
    if (inside2 || around) return { scheme: s.name, relation: inside2 && around ? "equal" : inside2 ? "inside" : "around" };
  }
  return void 0;
}
function hostUnderDomain(host, domain) {
  if (domain === "") return false;
  return host === domain || host.endsWith(`.${domain}`);
}

// action/src/core/rule-match.ts
function prefixOf(value) {
  const slash = value.indexOf("/");
  if (slash >= 0) return Number(value.slice(slash + 1));
  return value.includes(":") ? 128 : 32;
}
function matchHost(rules, host) {
  let best;
  for (const rule of rules) {
    if (rule.kind !== "host" || !hostUnderDomain(host, rule.value)) continue;
    if (best === void 0 || rule.value.length > best.value.length) best = rule;
  }
  return best;
}
function matchIp(rules, value) {
  let best;
  const specificity = (r) => prefixOf(r.value) + (r.value.includes(":") === value.includes(":") ? 0 : r.value.includes(":") ? -96 : 96);
  for (const rule of rules) {
    if (rule.kind !== "ip" || !(ipInNetwork(value, rule.value) || embedded(value, rule.value) === "inside")) continue;
    if (best === void 0 || specificity(rule) > specificity(best)) best = rule;
  }
  return best;
}
var REVERSED = { inside: "around", around: "inside", equal: "equal", none: void 0 };
function embedded(value, rule) {
  const valueIs6 = value.includes(":");
  if (valueIs6 === rule.includes(":")) return void 0;
  const r = valueIs6 ? ipv6EmbeddingOf(value, rule)?.relation : REVERSED[ipv6EmbeddingOf(rule, value)?.relation ?? "none"];
  return r === "equal" ? "inside" : r;
}
function ruleCovering(rules, kind, value) {
  if (kind === "host") return matchHost(rules, value);
  return matchIp(rules, value) ?? rules.find((r) => r.kind === "ip" && (value.includes("/") && ipInNetwork(r.value, value) || embedded(value, r.value) === "around"));
}

// action/src/sources/logpush/time.ts
var RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
var NUMERIC = /^\d+(?:\.\d+)?$/;
function epochToMs(n) {
  if (!Number.isFinite(n) || n <= 0 || n >= 1e20) return null;
  if (n < 1e11) return Math.floor(n * 1e3);
  if (n < 1e14) return Math.floor(n);
  if (n < 1e17) return Math.floor(n / 1e3);
  return Math.floor(n / 1e6);
}
function daysInMonth(year, month) {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
function parseTime(v) {
  if (typeof v === "number") return epochToMs(v);
  if (typeof v !== "string") return null;
  const s = v.trim();
  if (NUMERIC.test(s)) return epochToMs(Number(s));
  const m = RFC3339.exec(s);
  if (m === null) return null;
  const [, ys, mos, ds, hs, mis, ss, frac, z, sign, oh, om] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs);
  const minute = Number(mis);
  const second = Number(ss);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (year < 1970) return null;
  if (frac !== void 0) ms += Number(frac.slice(0, 3).padEnd(3, "0"));
  if (z === void 0) {
    const offH = Number(oh);
    const offM = Number(om);
    if (offH > 23 || offM > 59) return null;
    ms -= (sign === "-" ? -1 : 1) * (offH * 60 + offM) * 6e4;
  }
  return ms > 0 ? ms : null;
}

// action/src/sources/logpush/aggregate.ts
var OTHER_SIDE_CAP = 1e3;
var DECISION_CACHE = 5e4;
var ODD_SNI_MAX = 300;
function addUser(users, u) {
  if (users === void 0 || users === u) return users ?? u;
  if (typeof users === "string") return /* @__PURE__ */ new Set([users, u]);
  users.add(u);
  return users;
}
function eachUser(users, f) {
  if (users === void 0) return;
  if (typeof users === "string") f(users);
  else for (const u of users) f(u);
}
function isClientTlsError(v) {
  return typeof v === "string" && v.replace(/_/g, "").toLowerCase() === "clienttlserror";
}
function keyOf(v) {
  return typeof v === "string" ? v.trim().toLowerCase() : "";
}
function owned(s) {
  return s.length < 13 ? s : (s + " ").slice(0, -1);
}
function oddSniKey(v) {
  if (typeof v === "number" || typeof v === "boolean") return String(v).toLowerCase();
  if (Array.isArray(v)) return `[array of ${v.length}]`;
  return `{object}`.slice(0, ODD_SNI_MAX);
}
function usable(v) {
  return v !== void 0 && v !== null && v !== "";
}
function nonEmpty(v) {
  return typeof v === "string" && v !== "" ? v : void 0;
}
function datasetOf(o) {
  if (Object.hasOwn(o, "ConnectionCloseReason") || Object.hasOwn(o, "SessionStartTime") || Object.hasOwn(o, "OriginIP")) {
    return "zero_trust_network_sessions";
  }
  const host = Object.hasOwn(o, "HTTPHost");
  if (host && Object.hasOwn(o, "Action")) return "gateway_http";
  if (!host && Object.hasOwn(o, "SNI") && Object.hasOwn(o, "DestinationIP")) return "gateway_network";
  return void 0;
}
function portIn(ports, v) {
  if (typeof v === "number") return ports.has(v);
  if (typeof v === "string" && /^\s*\d+\s*$/.test(v)) return ports.has(Number(v));
  return false;
}
function addTo(m, k, v) {
  let s = m.get(k);
  if (s === void 0) m.set(k, s = /* @__PURE__ */ new Set());
  s.add(v);
  return s;
}
function mergeAccs(into, from) {
  for (const [key, acc] of from) {
    const cur = into.get(key);
    if (cur === void 0) {
      into.set(key, acc);
      continue;
    }
    for (const [dev, d] of acc) {
      const c = cur.get(dev);
      if (c === void 0) cur.set(dev, d);
      else {
        c.sessions += d.sessions;
        if (d.first < c.first) c.first = d.first;
        if (d.last > c.last) c.last = d.last;
        eachUser(d.users, (u) => {
          c.users = addUser(c.users, u);
        });
      }
    }
  }
}
function statsOf(acc, drop) {
  let sessions = 0;
  let devices = 0;
  let first = Infinity;
  let last = -Infinity;
  const users = /* @__PURE__ */ new Set();
  for (const [dev, d] of acc) {
    if (drop.has(dev)) continue;
    sessions += d.sessions;
    if (dev !== "") devices++;
    if (d.first < first) first = d.first;
    if (d.last > last) last = d.last;
    eachUser(d.users, (u) => users.add(u));
  }
  return sessions === 0 ? void 0 : { sessions, devices, users: users.size, firstSeen: first, lastSeen: last };
}
function statsOnly(acc, only) {
  const kept = new Map([...acc].filter(([dev]) => only.has(dev)));
  return statsOf(kept, /* @__PURE__ */ new Set());
}
function latest(m, key, t) {
  if (key === "") return;
  const cur = m.get(key);
  if (cur === void 0) m.set(owned(key), t);
  else if (t > cur) m.set(key, t);
}
var Aggregator = class {
  constructor(rules) {
    this.rules = rules;
    this.from = rules.window.from ?? -Infinity;
    this.to = rules.window.to;
    this.ports = new Set(rules.ports);
    this.policyName = rules.policy.name || void 0;
    this.policyId = rules.policy.id?.toLowerCase() || void 0;
    this.hostRules = (rules.exclusions ?? []).filter((r) => r.kind === "host");
    this.usageFrom = rules.usageDays ? rules.window.to - rules.usageDays * 864e5 : void 0;
  }
  rules;
  hostFailures = /* @__PURE__ */ new Map();
  ipFailures = /* @__PURE__ */ new Map();
  /** Failing hostname to the IPs it failed on, each with the devices ('' = none) that failed there. */
  hostIps = /* @__PURE__ */ new Map();
  /** For the shared-IP guard: IP key to the excluded hostnames (keys) seen on it. Exact, uncapped. */
  excludedOn = /* @__PURE__ */ new Map();
  bypassedHosts = /* @__PURE__ */ new Map();
  devices = /* @__PURE__ */ new Map();
  records = { zero_trust_network_sessions: 0, gateway_http: 0, gateway_network: 0 };
  usage = { hosts: /* @__PURE__ */ new Map(), ips: /* @__PURE__ */ new Map(), first: Infinity, last: -Infinity };
  inWindow = 0;
  malformedLines = 0;
  ports;
  from;
  to;
  policyName;
  policyId;
  /** Start of the usage window (epoch ms); undefined when the idle rule is off. */
  usageFrom;
  hostRules;
  decisions = /* @__PURE__ */ new Map();
  otherSideCapped = 0;
  /** A `gateway_http` record at `t`, any action: widens the span the usage data covers. */
  httpSeen(t) {
    if (this.usageFrom === void 0 || t > this.to) return;
    if (t < this.usage.first) this.usage.first = t;
    if (t > this.usage.last) this.usage.last = t;
  }
  /** Whether an epoch-ms time is inside the window (inclusive at both ends). */
  inside(t) {
    return t >= this.from && t <= this.to;
  }
  /** One line that is not a usable record. */
  malformed() {
    this.malformedLines++;
  }
  /**
   * Whether an exclusion rule covers this SNI key, judged as the planner judges it (canonical
   * hostname, then the most specific domain rule). Decisions are cached per distinct key in a
   * bounded map: a client flooding distinct SNIs only makes the cache start over.
   */
  excluded(sniKey) {
    if (this.hostRules.length === 0) return false;
    let d = this.decisions.get(sniKey);
    if (d === void 0) {
      const c = isIpLiteral(sniKey) ? void 0 : canonicalHost(sniKey);
      d = c !== void 0 && c.ok && matchHost(this.hostRules, c.value) !== void 0;
      if (this.decisions.size >= DECISION_CACHE) this.decisions.clear();
      this.decisions.set(owned(sniKey), d);
    }
    return d;
  }
  /** An SNI (key) seen on an IP (key) in any session of the window: kept only when excluded. */
  seen(ip, sni) {
    if (ip !== "" && sni !== "" && this.excluded(sni)) addTo(this.excludedOn, owned(ip), owned(sni));
  }
  /** The tally of one device, created on first sight. */
  deviceAcc(id) {
    let d = this.devices.get(id);
    if (d === void 0) this.devices.set(owned(id), d = { tls: 0, failed: 0, dests: /* @__PURE__ */ new Set() });
    return d;
  }
  /** The device of a network session in the window on one of `ports`; `failed` when it ended in a TLS error. */
  device(id, failed, dest) {
    const d = this.deviceAcc(id);
    d.tls++;
    if (failed) {
      d.failed++;
      if (dest !== void 0) d.dests.add(dest);
    }
  }
  count(map, key, o, t) {
    let acc = map.get(key);
    if (acc === void 0) map.set(key, acc = /* @__PURE__ */ new Map());
    const dev = nonEmpty(o.DeviceID) ?? "";
    let d = acc.get(dev);
    if (d === void 0) acc.set(dev, d = { sessions: 0, first: t, last: t, users: void 0 });
    d.sessions++;
    if (t < d.first) d.first = t;
    if (t > d.last) d.last = t;
    const user = nonEmpty(o.UserID) ?? nonEmpty(o.Email);
    if (user !== void 0) d.users = addUser(d.users, user);
  }
  /** The slow path and the definition: one parsed JSON value from one line. */
  ingest(v) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return this.malformed();
    const o = v;
    const ds = datasetOf(o);
    if (ds === void 0) return this.malformed();
    const t = parseTime(ds === "zero_trust_network_sessions" ? usable(o.SessionStartTime) ? o.SessionStartTime : o.SessionEndTime : o.Datetime);
    if (t === null) return this.malformed();
    this.records[ds]++;
    if (ds === "gateway_http") this.httpUsage(o, t);
    if (!this.inside(t)) return;
    this.inWindow++;
    if (ds === "zero_trust_network_sessions") this.session(o, t);
    else if (ds === "gateway_network") this.seen(keyOf(o.DestinationIP), keyOf(o.SNI));
    else this.http(o, t);
  }
  session(o, t) {
    const ip = keyOf(o.OriginIP);
    const raw = o.SNI;
    const hasSni = raw !== void 0 && raw !== null && raw !== "";
    const sni = typeof raw === "string" ? raw.trim().toLowerCase() : hasSni ? oddSniKey(raw) : "";
    if (typeof raw === "string") this.seen(ip, sni);
    if (!portIn(this.ports, o.OriginPort)) return;
    const failed = isClientTlsError(o.ConnectionCloseReason);
    const dest = hasSni ? "h " + sni : ip !== "" ? "i " + ip : void 0;
    const dev = nonEmpty(o.DeviceID);
    if (dev !== void 0) this.device(dev, failed, dest);
    if (!failed) return;
    if (hasSni) {
      this.count(this.hostFailures, sni, o, t);
      if (ip !== "") this.hostIp(this.hostIps, sni, ip, [dev ?? ""]);
    } else if (ip !== "") {
      this.count(this.ipFailures, ip, o, t);
    }
  }
  /** Records that `devs` failed on `host` at `ip`, at most OTHER_SIDE_CAP IPs per host. */
  hostIp(m, host, ip, devs) {
    let ips = m.get(host);
    if (ips === void 0) m.set(host, ips = /* @__PURE__ */ new Map());
    let d = ips.get(ip);
    if (d === void 0) {
      if (ips.size >= OTHER_SIDE_CAP) {
        this.otherSideCapped++;
        return;
      }
      ips.set(ip, d = /* @__PURE__ */ new Set());
    }
    for (const x of devs) d.add(x);
  }
  /**
   * A request the managed policy bypassed teaches its hostname (a bypass-log candidate) and
   * the IP it went to: kept with the failing pairs, so "Seen with" shows the bypassed
   * host's IPs and an IP candidate shows the hostnames bypassed on it.
   */
  http(o, t) {
    const host = keyOf(o.HTTPHost);
    if (host === "" || !this.bypassedByPolicy(o)) return;
    this.count(this.bypassedHosts, host, o, t);
    const ip = keyOf(o.DestinationIP);
    if (ip !== "") this.hostIp(this.hostIps, host, ip, [nonEmpty(o.DeviceID) ?? ""]);
  }
  /** A request the managed Do Not Inspect policy (by name or id) let through. */
  bypassedByPolicy(o) {
    if (typeof o.Action !== "string" || o.Action.toLowerCase() !== "bypass") return false;
    const byName = this.policyName !== void 0 && o.PolicyName === this.policyName;
    const byId = this.policyId !== void 0 && typeof o.PolicyID === "string" && o.PolicyID.toLowerCase() === this.policyId;
    return byName || byId;
  }
  /** The idle rule's data: the span of gateway_http read, and the last bypass per host and destination IP. */
  httpUsage(o, t) {
    if (this.usageFrom === void 0 || t > this.to) return;
    this.httpSeen(t);
    if (t < this.usageFrom || !this.bypassedByPolicy(o)) return;
    latest(this.usage.hosts, keyOf(o.HTTPHost), t);
    latest(this.usage.ips, keyOf(o.DestinationIP), t);
  }
  /** This aggregator's state, for `merge` in another thread. */
  partial() {
    const { hostFailures, ipFailures, hostIps, excludedOn, bypassedHosts, devices, records, inWindow, malformedLines, otherSideCapped, usage } = this;
    return { hostFailures, ipFailures, hostIps, excludedOn, bypassedHosts, devices, records, inWindow, malformedLines, otherSideCapped, usage };
  }
  /** Adds another aggregator's state: counters add, sets unite (distinct counts stay exact). */
  merge(p) {
    mergeAccs(this.hostFailures, p.hostFailures);
    mergeAccs(this.ipFailures, p.ipFailures);
    mergeAccs(this.bypassedHosts, p.bypassedHosts);
    for (const [k, t] of p.usage.hosts) latest(this.usage.hosts, k, t);
    for (const [k, t] of p.usage.ips) latest(this.usage.ips, k, t);
    this.usage.first = Math.min(this.usage.first, p.usage.first);
    this.usage.last = Math.max(this.usage.last, p.usage.last);
    for (const [host, ips] of p.hostIps) for (const [ip, devs] of ips) this.hostIp(this.hostIps, host, ip, devs);
    for (const [ip, s] of p.excludedOn) for (const h of s) addTo(this.excludedOn, ip, h);
    for (const [id, d] of p.devices) {
      const cur = this.devices.get(id);
      if (cur === void 0) {
        this.devices.set(id, d);
        continue;
      }
      cur.tls += d.tls;
      cur.failed += d.failed;
      for (const x of d.dests) cur.dests.add(x);
    }
    for (const k of Object.keys(this.records)) this.records[k] += p.records[k];
    this.inWindow += p.inWindow;
    this.malformedLines += p.malformedLines;
    this.otherSideCapped += p.otherSideCapped;
  }
  /** The devices that look certificate-less, and the anonymous report about them. */
  certless() {
    const th = this.rules.certless ?? DEFAULT_CERTLESS;
    const ids = /* @__PURE__ */ new Set();
    const tallies = [];
    for (const [id, d] of this.devices) {
      const t = { tlsSessions: d.tls, failedSessions: d.failed, failedDestinations: d.dests.size };
      if (!isCertless(t, th)) continue;
      ids.add(id);
      tallies.push(t);
    }
    tallies.sort((a, b) => b.failedDestinations - a.failedDestinations || b.failedSessions - a.failedSessions);
    return { ids, tallies };
  }
  /** Candidate stats without certificate-less devices; the keys they alone failed on go to `only`. */
  split(m, drop, only) {
    const out = /* @__PURE__ */ new Map();
    for (const [k, acc] of m) {
      const s = statsOf(acc, drop);
      if (s !== void 0) out.set(k, s);
      else if (drop.size > 0) {
        const c = statsOnly(acc, drop);
        if (c !== void 0) only.set(k, c);
      }
    }
    return out;
  }
  /** The collected state as the shared contract; `extra` fills the file counters. */
  toObservations(extra) {
    const { ids, tallies } = this.certless();
    const onlyHosts = /* @__PURE__ */ new Map();
    const onlyIps = /* @__PURE__ */ new Map();
    const hostFailures = this.split(this.hostFailures, ids, onlyHosts);
    const ipFailures = this.split(this.ipFailures, ids, onlyIps);
    const hostIps = this.failingHostIps(ids);
    const warnings = [...extra.warnings];
    if (this.otherSideCapped > 0) {
      warnings.push(`${this.otherSideCapped} IP/hostname pairings were not kept: at most ${OTHER_SIDE_CAP} IPs per hostname`);
    }
    const records = {};
    for (const [k, n] of Object.entries(this.records)) if (n > 0) records[k] = n;
    if (this.records.zero_trust_network_sessions === 0) warnings.push("no network-session records found");
    const certless = {
      devices: tallies,
      devicesSeen: this.devices.size,
      sessionsExcluded: tallies.reduce((n, t) => n + t.failedSessions, 0),
      onlyCertless: { hosts: onlyHosts, ips: onlyIps }
    };
    const stats = {
      source: "logpush",
      records,
      inWindow: this.inWindow,
      malformedLines: this.malformedLines,
      filesRead: extra.filesRead,
      filesSkipped: extra.filesSkipped,
      filesCorrupt: extra.filesCorrupt,
      warnings
    };
    if (extra.filesOutsideWindow !== void 0) stats.filesOutsideWindow = extra.filesOutsideWindow;
    return {
      window: { from: this.rules.window.from, to: this.rules.window.to },
      hostFailures,
      ipFailures,
      hostIps,
      ipHosts: this.ipHosts(hostIps),
      bypassedHosts: this.split(this.bypassedHosts, /* @__PURE__ */ new Set(), /* @__PURE__ */ new Map()),
      certless,
      ...this.usageObservation(),
      stats
    };
  }
  /**
   * The usage the folder shows, over the span its gateway_http records cover: from the idle
   * window's start if records reach back that far, else from the first one; to the run's end,
   * unless the newest record is over a day old (a job that stopped must not look like 30
   * quiet days). No gateway_http record read: no usage, so nothing is called idle.
   */
  usageObservation() {
    const u = this.usage;
    if (this.usageFrom === void 0 || u.first > u.last) return {};
    const covers = { from: Math.max(u.first, this.usageFrom), to: this.to - u.last > 864e5 ? u.last : this.to };
    return { usage: { covers, hosts: new Map(u.hosts), ips: new Map(u.ips) } };
  }
  /** IPs of the failing hostnames, on which a device that is not certificate-less failed. */
  failingHostIps(drop) {
    const out = /* @__PURE__ */ new Map();
    for (const [host, ips] of this.hostIps) {
      const kept = [...ips].filter(([, devs]) => [...devs].some((d) => !drop.has(d))).map(([ip]) => ip);
      if (kept.length > 0) out.set(host, new Set(kept));
    }
    return out;
  }
  /**
   * "Seen with" of each IP, and the shared-IP guard: the excluded hostnames seen on it in any
   * session of the window (exact), plus the hostnames of the failing sessions on it.
   */
  ipHosts(hostIps) {
    const out = /* @__PURE__ */ new Map();
    for (const [ip, s] of this.excludedOn) out.set(ip, new Set(s));
    for (const [host, ips] of hostIps) for (const ip of ips) addTo(out, ip, host);
    return out;
  }
};

// action/src/sources/logpush/files.ts
import { constants, createReadStream } from "node:fs";
import { lstat, open, readdir, realpath, stat } from "node:fs/promises";
import { join, relative, isAbsolute, sep } from "node:path";
import { createGunzip } from "node:zlib";

// action/src/sources/logpush/scan.ts
var MAX_LINE = 1 << 20;
var NL = 10;
var QUOTE = 34;
var COMMA = 44;
var UNDERSCORE = 95;
var LBRACE = 123;
var RBRACE = 125;
var CCR = 0;
var SST = 1;
var SET = 2;
var OIP = 3;
var SNI = 4;
var HOST = 5;
var ACTION = 6;
var DIP = 7;
var DT = 8;
var PORT = 9;
var DEV = 10;
var NAMES = ["ConnectionCloseReason", "SessionStartTime", "SessionEndTime", "OriginIP", "SNI", "HTTPHost", "Action", "DestinationIP", "Datetime", "OriginPort", "DeviceID"];
var EXACT = NAMES.map((n) => `"${n}":`);
var LOOSE = NAMES.map((n) => `"${n}"`);
var KEYS = NAMES.length;
var ABSENT = -1;
var UNSURE = -2;
var V_UNSURE = 0;
var V_STR = 1;
var V_NUM = 2;
var V_NULL = 3;
var SLACK = 40;
var SNI_SLOTS = 1 << 15;
var DEVICE_SLOTS = 1 << 14;
var PROBES = 4;
var ScanCache = class {
  sniRaw = new Array(SNI_SLOTS);
  // The key of an excluded SNI, '' for one no rule covers.
  sniKeys = new Array(SNI_SLOTS);
  devRaw = new Array(DEVICE_SLOTS);
  devAcc = new Array(DEVICE_SLOTS);
};
var caches = /* @__PURE__ */ new WeakMap();
function cacheOf(agg) {
  let c = caches.get(agg);
  if (c === void 0) caches.set(agg, c = new ScanCache());
  return c;
}
var WINDOW = 64 * 1024;
var TLS_ERROR = "clienttlserror";
var BYPASS = "bypass";
var latin1 = Buffer.prototype.latin1Slice ?? function(s, e) {
  return this.toString("latin1", s, e);
};
function sampleHash(s, from, to) {
  const n = to - from;
  if (n === 0) return 0;
  let h = n;
  const step = n > 8 ? n >> 3 : 1;
  for (let i = to - 1; i >= from; i -= step) h = Math.imul(h, 31) + s.charCodeAt(i) | 0;
  return h ^ h >>> 15;
}
function isWs(c) {
  return c === 32 || c === 9 || c === 13;
}
var LineScanner = class {
  constructor(agg) {
    this.agg = agg;
    const c = cacheOf(agg);
    this.sniRaw = c.sniRaw;
    this.sniKeys = c.sniKeys;
    this.devRaw = c.devRaw;
    this.devAcc = c.devAcc;
  }
  agg;
  buf = Buffer.alloc(0);
  // buf[base...] as a latin1 string: index i is byte base + i.
  s = "";
  base = 0;
  // Per key: the offset from the line start where it was found last time.
  pred = new Float64Array(KEYS);
  // Cursors per buffer: the first occurrence at or after `from` is at `occ` (Infinity: none).
  exFrom = new Float64Array(KEYS);
  exOcc = new Float64Array(KEYS);
  loFrom = new Float64Array(KEYS);
  loOcc = new Float64Array(KEYS);
  bsFrom = Infinity;
  bsOcc = 0;
  lbFrom = Infinity;
  lbOcc = 0;
  // The value read last by readValue(), and a hash of a string value.
  vs = 0;
  ve = 0;
  vh = 0;
  sniRaw;
  sniKeys;
  sniKey = "";
  devRaw;
  devAcc;
  carry = [];
  carryLen = 0;
  skipping = false;
  /** Lines handed to JSON.parse; for tests and tuning. */
  slowLines = 0;
  /** Feeds the next chunk of decompressed bytes. */
  push(chunk) {
    let start = 0;
    if (this.skipping) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) return;
      this.skipping = false;
      start = nl + 1;
    } else if (this.carryLen > 0) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.hold(chunk);
        return;
      }
      if (this.carryLen + nl > MAX_LINE) {
        this.agg.malformed();
      } else {
        this.carry.push(chunk.subarray(0, nl));
        const line = Buffer.concat(this.carry);
        this.lines(line, 0, line.length);
      }
      this.carry = [];
      this.carryLen = 0;
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= start) {
      this.lines(chunk, start, last);
      start = last + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
  }
  /** The end of the file: a last line without a newline (or cut short by corruption) counts too. */
  end() {
    if (this.carryLen > 0) {
      const line = Buffer.concat(this.carry);
      this.carry = [];
      this.carryLen = 0;
      this.lines(line, 0, line.length);
    }
    this.skipping = false;
    this.buf = Buffer.alloc(0);
    this.s = "";
  }
  hold(part) {
    if (this.carryLen + part.length > MAX_LINE) {
      this.agg.malformed();
      this.carry = [];
      this.carryLen = 0;
      this.skipping = true;
      return;
    }
    this.carry.push(Buffer.from(part));
    this.carryLen += part.length;
  }
  /** The lines of buf[start, end): `end` is a newline or the end of a final line. */
  lines(buf, start, end) {
    this.buf = buf;
    let p = start;
    while (p <= end) {
      let w = end;
      if (end - p > WINDOW) {
        w = buf.lastIndexOf(NL, p + WINDOW);
        if (w < p) {
          w = buf.indexOf(NL, p + WINDOW);
          if (w === -1 || w > end) w = end;
        }
      }
      this.window(p, w);
      p = w + 1;
    }
  }
  /** The lines of buf[from, to], `to` being a newline or the end of a final line. */
  window(from, to) {
    this.base = from;
    const s = this.s = latin1.call(this.buf, from, to);
    this.exFrom.fill(Infinity);
    this.loFrom.fill(Infinity);
    this.bsFrom = Infinity;
    this.lbFrom = Infinity;
    const end = s.length;
    let p = 0;
    while (p <= end) {
      let nl = p === end ? end : s.indexOf("\n", p);
      if (nl === -1) nl = end;
      if (nl - p > MAX_LINE) this.agg.malformed();
      else this.line(p, nl);
      p = nl + 1;
    }
  }
  /** Whether [ls, le) holds a backslash; a cursor makes this one scan per chunk when there are none. */
  hasBackslash(ls, le) {
    if (!(this.bsFrom <= ls && this.bsOcc >= ls)) {
      const r = this.s.indexOf("\\", ls);
      this.bsFrom = ls;
      this.bsOcc = r === -1 ? Infinity : r;
    }
    return this.bsOcc < le;
  }
  /** Whether [from, le) holds a `{`: a nested object, whose keys are not the record's. */
  hasBrace(from, le) {
    if (!(this.lbFrom <= from && this.lbOcc >= from)) {
      const r = this.s.indexOf("{", from);
      this.lbFrom = from;
      this.lbOcc = r === -1 ? Infinity : r;
    }
    return this.lbOcc < le;
  }
  /**
   * Position of key k's value in [ls, le), or ABSENT, or UNSURE (present but not as `"K":`).
   * The search starts a little before where the key was in the previous line, measured from
   * `anchor` (a key found before in this line, or a line end), so that only the values in
   * between can shift it. When the key is not in [q, le) it is looked for backwards from q:
   * one short scan instead of a forward scan from the line start. A cursor per key ("the next
   * occurrence after X is at Y") keeps a key that no line has from costing a scan per line.
   */
  find(k, ls, le, anchor) {
    const s = this.s;
    const pat = EXACT[k];
    const pred = this.pred[k];
    if (pred !== 0) {
      let q = anchor + pred - SLACK;
      if (q < ls) q = ls;
      if (q < le) {
        let r2;
        const from = this.exFrom[k];
        const occ = this.exOcc[k];
        if (from <= q && occ >= q) r2 = occ;
        else {
          r2 = s.indexOf(pat, q);
          if (r2 === -1) r2 = Infinity;
          this.exFrom[k] = q;
          this.exOcc[k] = r2;
        }
        if (r2 < le) {
          this.pred[k] = r2 - anchor;
          return r2 + pat.length;
        }
        if (q > ls) {
          const b = s.lastIndexOf(pat, q - 1);
          if (b >= ls) {
            this.pred[k] = b - anchor;
            return b + pat.length;
          }
        }
        return this.loose(k, ls, le);
      }
    }
    if (!(this.exFrom[k] <= ls && this.exOcc[k] >= ls)) {
      const r2 = s.indexOf(pat, ls);
      this.exFrom[k] = ls;
      this.exOcc[k] = r2 === -1 ? Infinity : r2;
    }
    const r = this.exOcc[k];
    if (r < le) {
      this.pred[k] = r - anchor;
      return r + pat.length;
    }
    return this.loose(k, ls, le);
  }
  /** UNSURE when key k is in [ls, le) in some other spelling than `"K":`, else ABSENT. */
  loose(k, ls, le) {
    if (!(this.loFrom[k] <= ls && this.loOcc[k] >= ls)) {
      const l = this.s.indexOf(LOOSE[k], ls);
      this.loFrom[k] = ls;
      this.loOcc[k] = l === -1 ? Infinity : l;
    }
    return this.loOcc[k] < le ? UNSURE : ABSENT;
  }
  /** Reads the value at v: sets vs/ve for strings (inside the quotes) and numbers. */
  readValue(v, le) {
    if (v < 0) return V_UNSURE;
    const s = this.s;
    const c = s.charCodeAt(v);
    if (c === QUOTE) {
      const close = s.indexOf('"', v + 1);
      if (close === -1 || close >= le - 1) return V_UNSURE;
      this.vh = sampleHash(s, v + 1, close);
      const after = s.charCodeAt(close + 1);
      if (after !== COMMA && after !== RBRACE) return V_UNSURE;
      this.vs = v + 1;
      this.ve = close;
      return V_STR;
    }
    if (c >= 48 && c <= 57) {
      let e = v + 1;
      while (e < le) {
        const d = s.charCodeAt(e);
        if (d < 48 || d > 57) break;
        e++;
      }
      const after = s.charCodeAt(e);
      if (after !== COMMA && after !== RBRACE) return V_UNSURE;
      if (c === 48 && e - v > 1) return V_UNSURE;
      this.vs = v;
      this.ve = e;
      return V_NUM;
    }
    if (s.startsWith("null", v)) {
      const after = s.charCodeAt(v + 4);
      if (after === COMMA || after === RBRACE) return V_NULL;
    }
    return V_UNSURE;
  }
  /**
   * The string value last read, decoded as JSON.parse would decode it (there are no escapes);
   * undefined if it holds a raw control character, which JSON.parse rejects. With `asKey`,
   * trimmed and lower-cased like `keyOf`, skipping both calls when nothing would change.
   */
  text(asKey = false) {
    const s = this.s;
    const vs = this.vs;
    const ve = this.ve;
    let ascii = true;
    let clean = true;
    for (let i = vs; i < ve; i++) {
      const c = s.charCodeAt(i);
      if (c < 32) return void 0;
      if (c >= 128) ascii = false;
      else if (c >= 65 && c <= 90) clean = false;
    }
    if (!ascii) {
      const t2 = this.buf.toString("utf8", this.base + vs, this.base + ve);
      return asKey ? t2.trim().toLowerCase() : t2;
    }
    const t = s.slice(vs, ve);
    if (!asKey) return t;
    if (clean && ve > vs && s.charCodeAt(vs) !== 32 && s.charCodeAt(ve - 1) !== 32) return t;
    return t.trim().toLowerCase();
  }
  /** Case-insensitive ASCII equality of the last string value with `target`, optionally ignoring `_`. */
  matches(target, skipUnderscore) {
    const s = this.s;
    let j = 0;
    for (let i = this.vs; i < this.ve; i++) {
      const c = s.charCodeAt(i);
      if (skipUnderscore && c === UNDERSCORE) continue;
      if (j >= target.length || (c | 32) !== target.charCodeAt(j)) return false;
      j++;
    }
    return j === target.length;
  }
  /**
   * Epoch ms of the digits in [vs, ve) (no sign, no leading zero), exactly as
   * `epochToMs(Number(digits))` would compute it. Number() of 16+ digits is a slow correctly
   * rounded conversion; for nanoseconds the result is simply the leading digits unless the
   * sub-millisecond part is so close to a boundary that rounding could cross it.
   */
  digitsTime(vs, ve) {
    const s = this.s;
    const n = ve - vs;
    if (n <= 15) {
      let v = 0;
      for (let i = vs; i < ve; i++) v = v * 10 + (s.charCodeAt(i) - 48);
      return epochToMs(v);
    }
    if (n === 18 || n === 19) {
      let hi = 0;
      for (let i = vs; i < ve - 6; i++) hi = hi * 10 + (s.charCodeAt(i) - 48);
      let lo = 0;
      for (let i = ve - 6; i < ve; i++) lo = lo * 10 + (s.charCodeAt(i) - 48);
      if (lo >= 1e4 && lo < 99e4) return hi;
    }
    return epochToMs(Number(s.slice(vs, ve)));
  }
  /** The time at value v: a number, null (absent, null or unparseable), undefined (ask JSON.parse). */
  timeAt(v, le) {
    if (v === ABSENT) return null;
    return this.timeOf(this.readValue(v, le));
  }
  /** The time of the value just read, of the given kind; see timeAt. */
  timeOf(kind) {
    if (kind === V_NUM) return this.digitsTime(this.vs, this.ve);
    if (kind === V_STR) {
      const s = this.s;
      const vs = this.vs;
      const ve = this.ve;
      let digits = ve > vs && s.charCodeAt(vs) !== 48;
      for (let i = vs; digits && i < ve; i++) {
        const c = s.charCodeAt(i);
        digits = c >= 48 && c <= 57;
      }
      if (digits) return this.digitsTime(vs, ve);
      const t = this.text();
      return t === void 0 ? void 0 : parseTime(t);
    }
    if (kind === V_NULL) return null;
    return void 0;
  }
  /** A string-or-absent value as a key; undefined: let JSON.parse decide. */
  keyAt(v, le) {
    if (v === ABSENT) return "";
    if (this.readValue(v, le) !== V_STR) return void 0;
    return this.text(true);
  }
  slow(ls, le) {
    this.slowLines++;
    let v;
    try {
      v = JSON.parse(this.buf.toString("utf8", this.base + ls, this.base + le));
    } catch {
      this.agg.malformed();
      return;
    }
    try {
      this.agg.ingest(v);
    } catch {
      this.agg.malformed();
    }
  }
  /** The time of a network session, from SessionStartTime else SessionEndTime; see timeAt. */
  sessionTime(ls, le, sst) {
    if (sst >= 0) {
      const kind = this.readValue(sst, le);
      if (kind === V_UNSURE) return void 0;
      if (kind === V_NUM || kind === V_STR && this.ve > this.vs) return this.timeOf(kind);
    }
    const set = this.find(SET, ls, le, le);
    return set === UNSURE ? void 0 : this.timeAt(set, le);
  }
  /**
   * Whether the SNI at value position `sni` is one an exclusion covers, decided once per
   * distinct raw value (a bounded cache); null when it is absent or not a string; undefined:
   * ask JSON.parse.
   */
  excludedSni(sni, le) {
    if (sni === ABSENT) return null;
    const kind = this.readValue(sni, le);
    if (kind === V_UNSURE) return void 0;
    if (kind !== V_STR) return null;
    const found = this.probe(this.sniRaw, SNI_SLOTS - 1);
    if (found >= 0) {
      this.sniKey = this.sniKeys[found];
      return this.sniKey !== "";
    }
    const slot = -found - 1;
    const raw = this.s.slice(this.vs, this.ve);
    const key = this.text(true);
    if (key === void 0) return void 0;
    const ex = key !== "" && this.agg.excluded(key);
    this.sniRaw[slot] = owned(raw);
    this.sniKeys[slot] = this.sniKey = ex ? owned(key) : "";
    return ex;
  }
  /** The OriginPort at v: a number, -1 when absent or null, undefined: ask JSON.parse. */
  portAt(v, le) {
    if (v === ABSENT) return -1;
    const kind = this.readValue(v, le);
    if (kind === V_NULL) return -1;
    if (kind !== V_NUM || this.ve - this.vs > 9) return void 0;
    let n = 0;
    for (let i = this.vs; i < this.ve; i++) n = n * 10 + (this.s.charCodeAt(i) - 48);
    return n;
  }
  /**
   * The slot of `raw` that holds the string value last read, or -(slot + 1) for the slot to
   * fill: the first empty one among the probes, else the value's home slot (evicted).
   */
  probe(raw, mask) {
    const s = this.s;
    const vs = this.vs;
    const len = this.ve - vs;
    const home = this.vh & mask;
    for (let i = 0; i < PROBES; i++) {
      const slot = home + i & mask;
      const cached = raw[slot];
      if (cached === void 0) return -slot - 1;
      if (cached.length === len && s.startsWith(cached, vs)) return slot;
    }
    return -home - 1;
  }
  /** The DeviceAcc of the DeviceID at v; null when there is none; undefined: ask JSON.parse. */
  deviceAt(v, le) {
    if (v === ABSENT) return null;
    const kind = this.readValue(v, le);
    if (kind === V_UNSURE) return void 0;
    if (kind !== V_STR) return null;
    if (this.ve === this.vs) return null;
    const found = this.probe(this.devRaw, DEVICE_SLOTS - 1);
    if (found >= 0) return this.devAcc[found];
    const slot = -found - 1;
    const raw = this.s.slice(this.vs, this.ve);
    const id = this.text();
    if (id === void 0) return void 0;
    const d = this.agg.deviceAcc(id);
    this.devRaw[slot] = owned(raw);
    this.devAcc[slot] = d;
    return d;
  }
  /** A network session that is not a TLS failure (the scanner sends those to JSON.parse). */
  session(ls, le, ccr, oip, sst) {
    const agg = this.agg;
    if (ccr >= 0) {
      const kind = this.readValue(ccr, le);
      if (kind === V_UNSURE || kind === V_STR && this.matches(TLS_ERROR, true)) return this.slow(ls, le);
    }
    const t = this.sessionTime(ls, le, sst);
    if (t === void 0) return this.slow(ls, le);
    const sni = this.find(SNI, ls, le, sst >= 0 ? sst : oip >= 0 ? oip : ls);
    if (sni === UNSURE) return this.slow(ls, le);
    if (t === null) return agg.malformed();
    if (!agg.inside(t)) {
      agg.records.zero_trust_network_sessions++;
      return;
    }
    const ex = this.excludedSni(sni, le);
    if (ex === void 0) return this.slow(ls, le);
    let ipKey = "";
    if (ex) {
      const sniKey = this.sniKey;
      const k = this.keyAt(oip, le);
      if (k === void 0) return this.slow(ls, le);
      ipKey = k;
      this.sniKey = sniKey;
    }
    const portPos = this.find(PORT, ls, le, oip >= 0 ? oip : ls);
    if (portPos === UNSURE) return this.slow(ls, le);
    const port = this.portAt(portPos, le);
    if (port === void 0) return this.slow(ls, le);
    let dev = null;
    if (agg.ports.has(port)) {
      const dv = this.find(DEV, ls, le, ccr >= 0 ? ccr : ls);
      if (dv === UNSURE) return this.slow(ls, le);
      dev = this.deviceAt(dv, le);
      if (dev === void 0) return this.slow(ls, le);
    }
    agg.records.zero_trust_network_sessions++;
    agg.inWindow++;
    if (ex) agg.seen(ipKey, this.sniKey);
    if (dev !== null) dev.tls++;
  }
  line(ls, le) {
    const s = this.s;
    while (ls < le && isWs(s.charCodeAt(ls))) ls++;
    while (le > ls && isWs(s.charCodeAt(le - 1))) le--;
    if (ls === le) return;
    if (s.charCodeAt(ls) !== LBRACE || s.charCodeAt(le - 1) !== RBRACE || this.hasBackslash(ls, le) || this.hasBrace(ls + 1, le)) {
      return this.slow(ls, le);
    }
    const ccr = this.find(CCR, ls, le, ls);
    const oip = this.find(OIP, ls, le, ccr >= 0 ? ccr : ls);
    const sst = this.find(SST, ls, le, le);
    if (ccr === UNSURE || sst === UNSURE || oip === UNSURE) return this.slow(ls, le);
    const agg = this.agg;
    if (ccr >= 0 || sst >= 0 || oip >= 0) return this.session(ls, le, ccr, oip, sst);
    const host = this.find(HOST, ls, le, ls);
    if (host === UNSURE) return this.slow(ls, le);
    if (host >= 0) {
      const action = this.find(ACTION, ls, le, ls);
      if (action === UNSURE) return this.slow(ls, le);
      if (action < 0) return this.slow(ls, le);
      const kind = this.readValue(action, le);
      if (kind !== V_STR || this.matches(BYPASS, false)) return this.slow(ls, le);
      const t2 = this.timeAt(this.find(DT, ls, le, ls), le);
      if (t2 === void 0) return this.slow(ls, le);
      if (t2 === null) return agg.malformed();
      agg.records.gateway_http++;
      agg.httpSeen(t2);
      if (agg.inside(t2)) agg.inWindow++;
      return;
    }
    const sni = this.find(SNI, ls, le, ls);
    const dip = this.find(DIP, ls, le, ls);
    if (sni < 0 || dip < 0) return this.slow(ls, le);
    const dt = this.find(DT, ls, le, ls);
    if (dt === UNSURE) return this.slow(ls, le);
    const t = this.timeAt(dt, le);
    const ipKey = this.keyAt(dip, le);
    const sniKey = this.keyAt(sni, le);
    if (t === void 0 || ipKey === void 0 || sniKey === void 0) return this.slow(ls, le);
    if (t === null) return agg.malformed();
    agg.records.gateway_network++;
    if (!agg.inside(t)) return;
    agg.inWindow++;
    agg.seen(ipKey, sniKey);
  }
};

// action/src/sources/logpush/files.ts
var CHUNK = 256 * 1024;
var GUNZIP = { chunkSize: CHUNK, readableHighWaterMark: 4 * CHUNK };
var NAME_SLACK_MS = 36e5;
var NAME = /^(\d{8}T\d{6}Z)_(\d{8}T\d{6}Z)_[0-9A-Za-z]+\.log\.gz$/;
function stampMs(s) {
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 19) === iso.slice(0, 19) ? ms : null;
}
function nameRange(base) {
  const m = NAME.exec(base);
  if (m === null) return null;
  const start = stampMs(m[1]);
  const end = stampMs(m[2]);
  if (start === null || end === null || end < start) return null;
  return { start, end };
}
function beforeWindow(base, from) {
  if (from === null) return false;
  const r = nameRange(base);
  return r !== null && r.end + 1e3 + NAME_SLACK_MS < from;
}
function inside(root, p) {
  const r = relative(root, p);
  return r === "" || !r.startsWith(".." + sep) && r !== ".." && !isAbsolute(r);
}
async function listFiles(dir) {
  const root = await realpath(dir);
  const out = { files: [], other: 0, refused: /* @__PURE__ */ new Map() };
  const refuse = (reason) => {
    out.refused.set(reason, (out.refused.get(reason) ?? 0) + 1);
  };
  const walked = /* @__PURE__ */ new Set();
  const walk = async (real) => {
    if (walked.has(real)) return;
    walked.add(real);
    for (const e of await readdir(real, { withFileTypes: true })) {
      const log = e.name.endsWith(".log.gz");
      let target = join(real, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const to = await realpath(target).catch(() => null);
        if (to === null || !inside(root, to)) {
          if (log) refuse(to === null ? "a link that leads nowhere" : "a link that leads outside the folder");
          else out.other++;
          continue;
        }
        target = to;
        const st = await stat(target);
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) await walk(target);
      else if (!log) out.other++;
      else if (isFile) out.files.push(target);
      else refuse("not a regular file (a FIFO, socket or device)");
    }
  };
  await walk(root);
  out.files.sort();
  return out;
}
async function scanFile(file, agg, onBytes) {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return (await lstat(file).catch(() => null))?.isSymbolicLink() === true ? "not-regular" : "unreadable";
  }
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    return "not-regular";
  }
  const scanner = new LineScanner(agg);
  const input = createReadStream("", { fd: fh, highWaterMark: CHUNK });
  const gunzip = createGunzip(GUNZIP);
  let readFailed = false;
  input.on("data", (c) => onBytes(c.length));
  input.on("error", (err) => {
    readFailed = true;
    gunzip.destroy(err);
  });
  input.pipe(gunzip);
  let outcome = "ok";
  try {
    for await (const chunk of gunzip) scanner.push(chunk);
  } catch {
    outcome = readFailed ? "unreadable" : "corrupt";
    input.destroy();
  }
  scanner.end();
  return outcome;
}

export {
  __require,
  __commonJS,
  __export,
  __toESM,
  parseNet,
  canonicalIp,
  isIpLiteral,
  canonicalHost,
  canonicalValue,
  compareIps,
  compareHosts,
  compareValues,
  ipInNetwork,
  matchHost,
  ruleCovering,
  DEFAULT_CERTLESS,
  isCertless,
  compareTallies,
  cleanTally,
  safeRule,
  findCertlessSql,
  findCertlessShell,
  epochToMs,
  Aggregator,
  beforeWindow,
  listFiles,
  scanFile
};
