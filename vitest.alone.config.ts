import { defineConfig } from 'vitest/config';

// Tests that measure latency against a baseline, or that kill and restart whole replicas under a
// browser (test/alone/): they run after the main suite, one file at a time, so that the machine is
// not busy with other tests meanwhile.
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
