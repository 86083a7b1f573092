import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'server/**/*.test.ts',
      'cli/**/*.test.ts',
      'sdk/**/*.test.ts',
      'agent/**/*.test.ts',
      'test/**/*.test.ts',
      'web/**/*.test.ts',
    ],
    // Latency measurements against a baseline run alone afterwards (vitest.alone.config.ts).
    exclude: [...configDefaults.exclude, 'test/alone/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/globalSetup.ts'],
  },
});
