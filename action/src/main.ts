/**
 * The GitHub Action: reads `INPUT_*` through `@actions/core`, runs the command, writes
 * outputs and the job summary, and fails the step with a message that never contains a
 * secret (the runner masks registered secrets; `redact` also covers our own messages,
 * e.g. an SDK error that echoes a header).
 */
import * as core from '@actions/core'
import { FileProblemsError } from './commands/files.js'
import { INPUTS, parseInputs } from './inputs.js'
import { runCommand } from './run.js'
import { fileEdges, redactor, waitScaleFromEnv, type GitHubContext, type Runtime } from './runtime.js'

/** Kept here for callers that imported it from the action's entry module. */
export { redactor }

/** Reads the repository and run from the variables the runner sets. */
export function githubContextFromEnv(env: NodeJS.ProcessEnv): GitHubContext | undefined {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo) return undefined
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com'
  return {
    owner,
    repo,
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    sha: env.GITHUB_SHA,
    runUrl: env.GITHUB_RUN_ID ? `${server}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}` : undefined
  }
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const raw: Record<string, string> = {}
  for (const spec of INPUTS) {
    raw[spec.name] = core.getInput(spec.name)
    if (spec.secret && raw[spec.name]) core.setSecret(raw[spec.name]!)
  }
  const redact = redactor(INPUTS.filter((s) => s.secret).map((s) => raw[s.name]))
  try {
    const inputs = parseInputs(raw)
    const rt: Runtime = {
      ...fileEdges(env.GITHUB_WORKSPACE ?? process.cwd()),
      now: () => Date.now(),
      log: {
        info: (m) => core.info(redact(m)),
        warning: (m, w) => core.warning(redact(m), w ? { file: w.file, startLine: w.line || undefined } : undefined),
        error: (m, w) => core.error(redact(m), w ? { file: w.file, startLine: w.line || undefined } : undefined)
      },
      print: (t) => core.info(redact(t)),
      summary: async (md) => {
        if (!env.GITHUB_STEP_SUMMARY) return
        // The step summary is capped at 1 MiB; the renderers stay far below, this is a backstop.
        await core.summary.addRaw(redact(md).slice(0, 1_000_000), true).write()
      },
      setOutput: (name, value) => core.setOutput(name, redact(value)),
      github: githubContextFromEnv(env),
      redact,
      waitScale: waitScaleFromEnv(env)
    }
    await runCommand(rt, inputs)
  } catch (e) {
    if (e instanceof FileProblemsError) {
      // One annotation per bad line (the UI shows ~10; the message lists them all).
      for (const p of e.problems.slice(0, 20)) core.error(redact(p.message), { file: p.file, startLine: p.line || undefined })
    }
    core.setFailed(redact(e instanceof Error ? e.message : String(e)))
  }
}
