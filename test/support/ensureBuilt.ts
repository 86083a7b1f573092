// Building dist/ for tests that run the real CLI or server as child processes. No vitest import
// here: test/globalSetup.ts runs it before any worker starts.
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Build dist/ with `npm run build` unless it is newer than every source the CLI and web UI are built from. */
export async function ensureBuilt(): Promise<void> {
  if (!isBuildFresh())
    await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeout: 120_000 });
}

function isBuildFresh(): boolean {
  let built: number;
  try {
    built = statSync(join(ROOT, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    return false; // a clean clone
  }
  const newest = (path: string): number => {
    const st = statSync(path);
    if (!st.isDirectory())
      return /\.(ts|tsx|css|html)$/.test(path) && !/\.test\.tsx?$/.test(path) ? st.mtimeMs : 0;
    return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
  };
  // test/support too: the cluster tests run dist/test/support/clusterReplica.js as replica processes.
  const sources = ['cli', 'sdk', 'server', 'agent', 'web', 'test/support'].map((dir) =>
    newest(join(ROOT, dir)),
  );
  const settings = ['package.json', 'tsconfig.json', 'tsconfig.build.json'].map(
    (f) => statSync(join(ROOT, f)).mtimeMs,
  );
  return Math.max(...sources, ...settings) < built;
}
