#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build` (npm start does it).
import('../dist/cli/main.js').then(
  async ({ main }) => {
    const code = await main(process.argv);
    if (code !== 0) process.exitCode = code;
  },
  (err) => {
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
      process.stderr.write('rclaude: not built yet; run `npm run build` first\n');
      process.exit(1);
    }
    throw err;
  },
);
