import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Emulators bind 127.0.0.1:0 and DuckDB runs real SQL: give I/O tests room, never the network.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks'
  }
})
