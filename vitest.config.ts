import { readFileSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [
    {
      // @actions/workflow-parser ships sourcemaps that point at missing files; Vite warns
      // once per module. Dropping the comment keeps test output readable.
      name: 'strip-workflow-parser-sourcemaps',
      enforce: 'pre',
      load(id) {
        if (id.includes('/@actions/workflow-parser/dist/') && id.endsWith('.js')) {
          return readFileSync(id, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '')
        }
        return null
      }
    }
  ],
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/harness/plain-summary-reporter.ts'],
    // Emulators bind 127.0.0.1:0 and DuckDB runs real SQL: give I/O tests room, never the network.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default is one worker less than the cores: one worker on a 2-core runner, so
    // every file waited for the last. Most files wait on emulators and child processes, so two
    // workers overlap that I/O; more only contend for the CPUs (measured: README, Development).
    maxWorkers: 2,
    // @actions/workflow-parser imports JSON without import attributes, which Node 20 refuses;
    // inlining lets Vite load it.
    server: { deps: { inline: ['@actions/workflow-parser'] } }
  }
})
