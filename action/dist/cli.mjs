#!/usr/bin/env node
import { createRequire as __gtbCreateRequire } from 'node:module'; const require = __gtbCreateRequire(import.meta.url);
import {
  ACTION_ONLY,
  CLI_FLAGS,
  INPUTS,
  canonicalRemote,
  createCloudflareClient,
  fileEdges,
  gitPort,
  lastBypassed,
  loadFiles,
  parseInputs,
  progressReporter,
  readRemoteState,
  redactor,
  runCommand,
  scaledSleep,
  visible,
  waitScaleFromEnv,
  widestOf
} from "./chunks/chunk-3C4UYSDD.mjs";
import {
  canonicalHost,
  canonicalIp,
  ipInNetwork,
  ruleCovering
} from "./chunks/chunk-ZTB453P2.mjs";

// action/src/cli.ts
import { readFileSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";

// action/src/cli-args.ts
var BIN = "gateway-tls-bypass";
var COMMANDS = {
  collect: {
    usage: "collect [options]",
    summary: "Find TLS failures in the logs and add them to the list files.",
    about: [
      "Reads Zero Trust logs (Log Explorer with a token, or a folder of Logpush .log.gz files),",
      "finds destinations whose TLS fails under inspection, applies exclusions.yaml and the",
      "evidence thresholds, and rewrites lists/ips.txt and lists/hosts.txt in place (the action",
      "opens a pull request instead). --dry-run prints the plan and writes nothing."
    ],
    examples: [
      `${BIN} collect --source logpush --logpush-dir ./logs --lookback all --dry-run`,
      `CLOUDFLARE_API_TOKEN=... ${BIN} collect --cloudflare-account-id <id> --lookback 6h --dry-run`
    ]
  },
  sync: {
    usage: "sync [options]",
    summary: "Apply the list files to the Gateway lists and the Do Not Inspect policy.",
    about: [
      "Validates the files, reads the managed Gateway lists and policy, and applies the",
      "difference. Refuses large removals or additions unless --force. Needs a token with",
      "Account > Zero Trust > Edit (env CLOUDFLARE_API_TOKEN)."
    ],
    examples: [`CLOUDFLARE_API_TOKEN=... ${BIN} sync --cloudflare-account-id <id> --dry-run`]
  },
  check: {
    usage: "check [options]",
    summary: "Validate the files and show sync's plan, read-only.",
    about: [
      "Validates the list files and exclusions.yaml. With a read-only token (Account > Zero",
      "Trust > Read) it also shows the plan sync would apply, and makes read calls only."
    ],
    examples: [
      `${BIN} check`,
      `CLOUDFLARE_API_TOKEN=... ${BIN} check --cloudflare-account-id <id> --detailed-exitcode`
    ]
  },
  why: {
    usage: "why VALUE [options]",
    summary: "Explain one hostname, IP or network: its commits, exclusions, Gateway.",
    about: [
      "Prints the commits that added and removed VALUE in the list files (from this checkout's",
      "git history, with the evidence line of each), the listed network an IP falls in, and the",
      "exclusion that covers it. With a token (env CLOUDFLARE_API_TOKEN) and an account id, also",
      "which managed Gateway list holds it and since when, and when the policy last bypassed",
      "traffic for it (Log Explorer gateway_http; needs Account > Logs > Read as well)."
    ],
    examples: [`${BIN} why api.pinned.example`, `CLOUDFLARE_API_TOKEN=... ${BIN} why 203.0.113.7 --cloudflare-account-id <id>`]
  }
};
var OWN_FLAGS = {
  "detailed-exitcode": {
    boolean: true,
    description: "Exit 0 when the plan has no changes, 3 when it has changes (1 on failure, 2 on a usage error), as terraform plan -detailed-exitcode. Needs the token and account.",
    commands: ["check"]
  },
  "help": { boolean: true, description: "Show this help.", commands: "all" },
  "version": { boolean: true, description: "Print the version.", commands: "all" }
};
var FLAG_NOTES = {
  why: { "idle-days": "How many days back why looks for traffic the managed policy bypassed (Log Explorer). `0`: do not look." }
};
var INPUT_BY_NAME = new Map(INPUTS.map((s) => [s.name, s]));
var CLI_COMMAND_NAMES = Object.keys(COMMANDS);
var isCliCommand = (s) => Object.hasOwn(COMMANDS, s);
function flagsOf(command) {
  const own = Object.entries(OWN_FLAGS).filter(([, f]) => f.commands === "all" || f.commands.includes(command)).map(([n]) => n);
  return [...CLI_FLAGS[command], ...own];
}
function takesValue(name) {
  if (Object.hasOwn(OWN_FLAGS, name)) return false;
  const spec = INPUT_BY_NAME.get(name);
  return spec ? !spec.boolean : void 0;
}
function tokenize(argv) {
  const out = { positionals: [], flags: /* @__PURE__ */ new Map(), unknown: [], problems: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === "-h") {
      out.flags.set("help", true);
    } else if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const inline = eq < 0 ? void 0 : a.slice(eq + 1);
      const wantsValue = takesValue(name);
      if (wantsValue === void 0) {
        out.unknown.push(`--${name}`);
        continue;
      }
      if (out.flags.has(name)) out.problems.push(`--${name} is given twice`);
      if (!wantsValue) {
        if (inline !== void 0) out.problems.push(`--${name} is a switch and takes no value (leave it out for false)`);
        out.flags.set(name, true);
      } else if (inline !== void 0) {
        out.flags.set(name, inline);
      } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
        out.flags.set(name, argv[++i]);
      } else {
        out.problems.push(`--${name} needs a value: --${name} <value>`);
      }
    } else if (a.startsWith("-") && a.length > 1) {
      out.unknown.push(a);
    } else {
      out.positionals.push(a);
    }
  }
  return out;
}
function editDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
function closest(word, candidates) {
  const w = word.toLowerCase();
  const limit = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3;
  let best;
  for (const c of candidates) {
    const d = editDistance(w, c);
    if (d <= limit && (best === void 0 || d < best.d)) best = { c, d };
  }
  return best?.c;
}
var shown = (s) => visible(s.slice(0, 40)).replace(/"/g, "\\u0022") + (s.length > 40 ? "…" : "");
function parseCli(argv) {
  const t = tokenize(argv);
  const [first, ...rest] = t.positionals;
  if (t.flags.has("version")) return { kind: "version" };
  if (first === void 0) {
    return t.flags.has("help") ? { kind: "help" } : { kind: "usage", message: `a command is needed: ${CLI_COMMAND_NAMES.join(", ")} or help`, showHelp: true };
  }
  if (first === "help") return helpRequest(rest);
  if (!isCliCommand(first)) return { kind: "usage", message: unknownCommand(first) };
  if (t.flags.has("help")) return { kind: "help", command: first };
  const flagProblem = unknownFlag(first, t.unknown[0]) ?? t.problems[0] ?? foreignFlag(first, t.flags);
  if (flagProblem) return { kind: "usage", message: flagProblem };
  const arity = positionalProblem(first, rest);
  if (arity) return { kind: "usage", message: arity };
  return { kind: "run", command: first, flags: t.flags, positionals: rest };
}
function helpRequest(rest) {
  if (rest.length === 0) return { kind: "help" };
  if (rest.length > 1) return { kind: "usage", message: `help takes one command, got: ${rest.map(shown).join(" ")}` };
  if (!isCliCommand(rest[0])) return { kind: "usage", message: unknownCommand(rest[0]) };
  return { kind: "help", command: rest[0] };
}
function unknownCommand(word) {
  const guess = closest(word, [...CLI_COMMAND_NAMES, "help"]);
  return `unknown command "${shown(word)}"${guess ? `; did you mean ${guess}?` : "."} Commands: ${CLI_COMMAND_NAMES.join(", ")}, help.`;
}
function unknownFlag(command, typed) {
  if (typed === void 0) return void 0;
  const name = typed.replace(/^-+/, "");
  const guess = typed.startsWith("--") ? closest(name, flagsOf(command)) : void 0;
  const hint = guess ? `; did you mean --${guess}?` : ".";
  return `unknown flag ${shown(typed)} for ${command}${hint} See: ${BIN} ${command} --help`;
}
function foreignFlag(command, flags) {
  const accepted = new Set(flagsOf(command));
  for (const name of flags.keys()) {
    if (accepted.has(name)) continue;
    if (Object.hasOwn(ACTION_ONLY, name)) return `--${name} is an action input only: ${ACTION_ONLY[name]}.`;
    const users = CLI_COMMAND_NAMES.filter((c) => flagsOf(c).includes(name));
    const where = users.length ? ` (a flag of ${users.join(", ")})` : "";
    return `${command} does not use --${name}${where}. See: ${BIN} ${command} --help`;
  }
  return void 0;
}
function positionalProblem(command, rest) {
  if (command === "why") {
    if (rest.length === 0) return `why needs a VALUE: ${BIN} why <hostname|IP|network>`;
    if (rest.length > 1) return `why takes one VALUE, got ${rest.length}: ${rest.map(shown).join(" ")}`;
    return void 0;
  }
  if (rest.length) return `${command} takes no arguments, got: ${rest.map(shown).join(" ")} (flags start with --)`;
  return void 0;
}
function helpText(command) {
  return command ? commandHelp(command) : topHelp();
}
var EXIT_CODES = [
  "  0  done (why: answered; check: the plan was shown)",
  "  1  failed (bad input value or file, Cloudflare or git error)",
  "  2  usage error (unknown command or flag, missing or extra argument, a why VALUE that is",
  "     no hostname, IP or network, --detailed-exitcode without a token)",
  "  3  check --detailed-exitcode only: the plan has changes"
];
function topHelp() {
  const width = Math.max(...CLI_COMMAND_NAMES.map((c) => c.length), 4) + 3;
  return [
    `Usage: ${BIN} <command> [options]`,
    "",
    "Find destinations that fail Cloudflare Gateway TLS inspection, propose them for review,",
    "and apply reviewed lists to a Do Not Inspect policy.",
    "",
    "Commands:",
    ...CLI_COMMAND_NAMES.map((c) => `  ${c.padEnd(width)}${COMMANDS[c].summary}`),
    `  ${"help".padEnd(width)}Show a command's help: help <command>.`,
    "",
    "Options:",
    "  -h, --help     Show help.",
    "  --version      Print the version.",
    "",
    `Run "${BIN} <command> --help" for the options of a command.`,
    "The token and the account can come from the environment: CLOUDFLARE_API_TOKEN,",
    "CLOUDFLARE_ACCOUNT_ID (they stay out of shell history).",
    "",
    "Exit codes:",
    ...EXIT_CODES
  ].join("\n");
}
function flagLines(command, name) {
  const own = OWN_FLAGS[name];
  if (own) return [name === "help" ? "  -h, --help" : `  --${name}`, `      ${own.description}`];
  const s = INPUT_BY_NAME.get(name);
  const flag = s.boolean ? `--${s.name}` : `--${s.name} <value>`;
  const dflt = s.default && !s.default.startsWith("${{") ? ` (default: ${s.default || "empty"})` : "";
  const env = s.env ? ` [env ${s.env}]` : "";
  const text = FLAG_NOTES[command]?.[name] ?? s.description;
  return [`  ${flag}`, `      ${text.replace(/`/g, "")}${dflt}${env}`];
}
function commandHelp(command) {
  const c = COMMANDS[command];
  const names = flagsOf(command).filter((n) => n !== "version");
  return [
    `Usage: ${BIN} ${c.usage}`,
    "",
    c.summary,
    "",
    ...c.about,
    "",
    "Examples:",
    ...c.examples.map((e) => `  ${e}`),
    "",
    "Options:",
    ...names.flatMap((n) => flagLines(command, n))
  ].join("\n");
}

// action/src/commands/why.ts
function canonicalTarget(raw) {
  const s = raw.trim();
  const ip = canonicalIp(s);
  if (ip.ok) return { kind: "ip", value: ip.value };
  const host = canonicalHost(s);
  if (host.ok) return { kind: "host", value: host.value };
  return { error: `"${visible(s.slice(0, 80))}" is neither an IP address, a network nor a hostname: ${host.reason}` };
}
function lineEvents(commits, kind, value) {
  const events = [];
  for (const c of commits) {
    const added = c.added.some((l) => l.trim() === value);
    const removed = c.removed.some((l) => l.trim() === value);
    if (added === removed) continue;
    const action = added ? "added" : "removed";
    events.push({ action, sha: c.sha, date: c.date, evidence: evidenceLine(c.message, action, kind, value) });
  }
  return events.reverse();
}
function evidenceLine(message, action, kind, value) {
  const sign = action === "added" ? "+" : "-";
  const lines = message.split("\n").map((l) => l.trim());
  const named = lines.find((l) => l === `${sign} ${kind} ${value}` || l.startsWith(`${sign} ${kind} ${value} `));
  return named ?? lines[0] ?? "";
}
async function explain(target, files, git, remote, bypass) {
  const { kind, value } = target;
  const file = kind === "ip" ? files.paths.ips : files.paths.hosts;
  const entries = (kind === "ip" ? files.ips : files.hosts).entries;
  const historyOf = async (v) => lineEvents(await git.commitsTouching(file, v), kind, v);
  const report = {
    value,
    kind,
    file,
    listed: entries.includes(value),
    history: await historyOf(value),
    networks: [],
    shallow: await git.isShallow()
  };
  if (kind === "ip") {
    for (const network of entries.filter((e) => e !== value && e.includes("/") && ipInNetwork(value, e))) {
      report.networks.push({ network, history: await historyOf(network) });
    }
  }
  const rule = ruleCovering(files.rules, kind, value);
  if (rule) report.exclusion = rule;
  const expired = ruleCovering(files.expired, kind, value);
  if (!rule && expired) report.expiredExclusion = expired;
  if (remote) {
    try {
      report.remote = await remote(kind, value);
    } catch (e) {
      report.remoteError = e.message.split("\n")[0];
    }
  }
  if (bypass) {
    try {
      report.bypass = await bypass(kind, value);
    } catch (e) {
      report.bypassError = e.message.split("\n")[0];
    }
  }
  return report;
}
function gatewaySighting(state, kind, value) {
  const found = [];
  for (const list of state.lists) {
    if (list.type === "IP" !== (kind === "ip")) continue;
    for (const item of list.items) {
      const c = canonicalRemote(list.type, item.value);
      if (!c.ok) continue;
      const exact = c.value === value;
      if (!exact && !(kind === "ip" && c.value.includes("/") && ipInNetwork(value, c.value))) continue;
      const s = { list: list.name };
      if (item.createdAt !== void 0 && Number.isFinite(Date.parse(item.createdAt))) s.since = item.createdAt;
      if (!exact) s.network = c.value;
      found.push(s);
    }
  }
  const key = (s) => [s.network ? 1 : 0, s.since ? Date.parse(s.since) : Infinity];
  found.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
  return found[0] ?? null;
}
var short = (sha) => sha.slice(0, 7);
var day = (iso) => iso.slice(0, 10);
function historyLines(events) {
  return events.map((e) => `    ${day(e.date)}  ${e.action.padEnd(7)}  ${short(e.sha)}  ${visible(e.evidence.slice(0, 200))}`);
}
function renderWhy(r) {
  const out = [`${r.value} (${r.kind === "ip" ? "IP" : "hostname"})`];
  out.push(r.listed ? `  Listed in ${r.file} now.` : `  Not listed in ${r.file} now.`);
  if (r.history.length) out.push(`  History of this line in ${r.file}:`, ...historyLines(r.history));
  else out.push(`  No commit in this history adds or removes it in ${r.file}.`);
  for (const n of r.networks) {
    out.push(`  Inside the listed network ${n.network}:`);
    out.push(...n.history.length ? historyLines(n.history) : ["    (no commit in this history adds it)"]);
  }
  if (r.exclusion) out.push(`  Exclusion: covered by ${r.exclusion.value} (line ${r.exclusion.line}): ${visible(r.exclusion.reason)}`);
  else if (r.expiredExclusion) out.push(`  Exclusion: ${r.expiredExclusion.value} covered it until it expired on ${r.expiredExclusion.expires}.`);
  else out.push("  Exclusion: none covers it.");
  if (r.remoteError) out.push(`  Gateway: could not read the managed lists (${visible(r.remoteError)}).`);
  else if (r.remote === void 0) out.push("  Gateway: not checked (give --cloudflare-account-id and CLOUDFLARE_API_TOKEN with Zero Trust Read to check).");
  else if (r.remote === null) out.push("  Gateway: not in the managed lists.");
  else out.push(`  Gateway: in "${visible(r.remote.list)}"${r.remote.network ? ` through the network ${r.remote.network}` : ""}${r.remote.since ? ` since ${day(r.remote.since)}` : ""}.`);
  out.push(...bypassLines(r));
  if (r.shallow) {
    out.push("  Note: this checkout is shallow, so older commits are missing. Run `git fetch --unshallow` (in Actions: actions/checkout with fetch-depth: 0).");
  }
  return out.join("\n");
}
function bypassLines(r) {
  if (r.bypassError) return [`  Last bypassed: could not read Log Explorer (${visible(r.bypassError)}).`];
  if (!r.bypass) return [];
  if (r.bypass.at === null) return [`  Last bypassed: no request bypassed by the managed policy in the last ${r.bypass.days} day(s).`];
  return [`  Last bypassed: ${new Date(r.bypass.at).toISOString().replace(/\.\d{3}Z$/, "Z")} (looked back ${r.bypass.days} day(s)).`];
}

// action/src/cli.ts
var EXIT = { ok: 0, failed: 1, usage: 2, changes: 3 };
function version() {
  if (true) return "0.1.0";
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return pkg.version;
}
async function cli(argv, env, io) {
  const req = parseCli(argv);
  switch (req.kind) {
    case "help":
      io.out(helpText(req.command));
      return EXIT.ok;
    case "version":
      io.out(`${BIN} ${version()}`);
      return EXIT.ok;
    case "usage":
      io.err(`error: ${req.message}`);
      if (req.showHelp) io.err(`
${helpText()}`);
      return EXIT.usage;
    case "run":
      return runRequest(req, env, io);
  }
}
function rawInputs(command, flags, env) {
  const raw = { command: command === "why" ? "check" : command };
  for (const s of INPUTS) {
    if (s.name === "command") continue;
    const v = flags.get(s.name);
    raw[s.name] = v === true ? "true" : v ?? (s.env ? env[s.env] : void 0);
  }
  raw["github-token"] = void 0;
  return raw;
}
function runtimeFor(io, redact) {
  const tidy = (m) => redact(plainPaths(m, io.cwd));
  return {
    ...fileEdges(io.cwd),
    now: () => Date.now(),
    log: {
      info: (m) => io.err(tidy(m)),
      warning: (m) => io.err(`warning: ${tidy(m)}`),
      error: (m) => io.err(`error: ${tidy(m)}`)
    },
    print: (t) => io.out(redact(t)),
    progress: io.isTTY ? progressReporter(process.stderr) : void 0,
    redact
  };
}
async function runRequest(req, env, io) {
  const raw = rawInputs(req.command, req.flags, env);
  const redact = redactor([raw["cloudflare-api-token"]]);
  const rt = runtimeFor(io, redact);
  const detailed = req.flags.has("detailed-exitcode");
  if (detailed && (!raw["cloudflare-api-token"] || !raw["cloudflare-account-id"])) {
    io.err("error: check --detailed-exitcode needs the plan, so a token and the account: set CLOUDFLARE_API_TOKEN and --cloudflare-account-id (or CLOUDFLARE_ACCOUNT_ID)");
    return EXIT.usage;
  }
  try {
    const inputs = parseInputs(raw);
    rt.waitScale = waitScaleFromEnv(env);
    if (req.command === "why") return await why(rt, inputs, req.positionals[0], io);
    const result = await runCommand(rt, inputs);
    if (detailed && result.command === "check") return (result.result.plan?.changes ?? 0) > 0 ? EXIT.changes : EXIT.ok;
    return EXIT.ok;
  } catch (e) {
    io.err(`error: ${redact(plainPaths(e instanceof Error ? e.message : String(e), io.cwd))}`);
    return EXIT.failed;
  }
}
async function why(rt, inputs, value, io) {
  const target = canonicalTarget(value);
  if ("error" in target) {
    io.err(`error: why: ${target.error}`);
    return EXIT.usage;
  }
  const files = await loadFiles(rt, { listsDir: inputs["lists-dir"], exclusionsFile: inputs["exclusions-file"], requireLists: false, widest: widestOf(inputs) });
  const git = gitPort(io.cwd);
  try {
    await git.isShallow();
  } catch (e) {
    throw new Error(`why reads the history of the list files with git, and git could not read it here (${e.message}). Run it inside a clone of your repository.`, { cause: e });
  }
  const { remote, bypass } = gatewayReaders(inputs, rt.waitScale);
  const report = await explain(target, files, git, remote, bypass);
  rt.print(renderWhy(report));
  return EXIT.ok;
}
function gatewayReaders(inputs, waitScale) {
  const token = inputs["cloudflare-api-token"];
  const accountId = inputs["cloudflare-account-id"];
  if (!token || !accountId) return {};
  const client = createCloudflareClient({ apiToken: token, baseURL: inputs["cloudflare-api-url"], waitScale });
  const sleep = scaledSleep(waitScale);
  const names = { prefix: inputs["list-prefix"], policyName: inputs["policy-name"], sleep };
  let state;
  const read = () => state ??= readRemoteState(client, accountId, names);
  const remote = async (kind, value) => gatewaySighting(await read(), kind, value);
  const days = inputs["idle-days"];
  if (days === 0) return { remote };
  const bypass = async (kind, value) => {
    const policyId = await read().then((s) => s.policy?.id, () => void 0);
    const policy = policyId ? { id: policyId, name: names.policyName } : { name: names.policyName };
    return { days, at: await lastBypassed({ client, accountId, policy, sleep }, { kind, value }, days) };
  };
  return { remote, bypass };
}
function plainPaths(text, cwd) {
  if (resolve(cwd) === "/") return text;
  const plain = text.replace(/\bE[A-Z]{2,}: ([^,\n]+), [a-z]+ '[^'\n]*'( -> '[^'\n]*')?/g, "$1");
  return plain.replace(/(?<![\w.:/~-])\/[^\s'"`,;()<>]*/g, (p) => {
    const trail = /[.:]+$/.exec(p)?.[0] ?? "";
    const path = p.slice(0, p.length - trail.length);
    if (!path) return p;
    const abs = resolve(path);
    const rel = relative(cwd, abs);
    if (rel === "") return `.${trail}`;
    if (!rel.startsWith("..") && !isAbsolute(rel)) return `./${rel}${trail}`;
    return (/\/\.\.?(\/|$)/.test(path) ? abs : path) + trail;
  });
}
var isEntry = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/cli.mjs") || process.argv[1]?.endsWith("/gateway-tls-bypass");
if (isEntry) {
  void cli(process.argv.slice(2), process.env, {
    out: (s) => process.stdout.write(`${s}
`),
    err: (s) => process.stderr.write(`${s}
`),
    cwd: process.cwd(),
    isTTY: !!process.stderr.isTTY
  }).then((code) => {
    process.exitCode = code;
  });
}
export {
  EXIT,
  cli,
  helpText,
  plainPaths,
  version
};
