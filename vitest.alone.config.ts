import { defineConfig } from 'vitest/config';

// Tests that measure latency against a baseline (test/alone/): they run after the main suite, one
// file at a time, so that the machine is not busy with other tests while they measure.
export default defineConfig({
  test: {
    include: ['test/alone/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 10 * 60_000,
    pool: 'forks',
    globalSetup: ['test/globalSetup.ts'],
  },
});
