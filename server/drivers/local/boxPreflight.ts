import { access, constants, lstat, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { DriverError } from '../runtimeDriver.js';

/** Where the launcher finds its tools (its PATH, launchBox.ts). */
const TOOL_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** Other users' read and search/execute bits. */
const OTHERS_R = 0o004;
const OTHERS_X = 0o001;

/** What the box binds from the host, as the local driver is configured. */
export interface BoxAssets {
  nodePath: string;
  agentDir: string;
  claudePath?: string | undefined;
}

const unavailable = (userMessage: string) => new DriverError({ reason: 'unavailable', userMessage });

/**
 * Checks, as root, that every tool the launcher runs is installed: bwrap, and util-linux's
 * setpriv, unshare and mount, plus bash.
 * @throws DriverError `unavailable` naming the missing tool and its package.
 */
export async function ensureHostTools(bwrapPath: string): Promise<void> {
  const tools: [string, string, string][] = [
    [bwrapPath, 'bubblewrap', 'or set runtime.local.bwrapPath'],
    ['setpriv', 'util-linux', ''],
    ['unshare', 'util-linux', ''],
    ['mount', 'mount', ''],
    ['/bin/bash', 'bash', ''],
  ];
  for (const [tool, pkg, alternative] of tools) {
    const candidates = isAbsolute(tool) ? [tool] : TOOL_DIRS.map((dir) => join(dir, tool));
    const found = await Promise.all(candidates.map((c) => isExecutableFile(c)));
    if (!found.includes(true)) {
      const where = isAbsolute(tool) ? tool : `${tool} (looked in ${TOOL_DIRS.join(', ')})`;
      throw unavailable(
        `The local runtime needs ${where}, which is missing. Install it (apt-get install ${pkg})` +
          `${alternative ? ` ${alternative}` : ''}, or set RC_RUNTIME=docker.`,
      );
    }
  }
}

/**
 * Checks that the workspace user can use what every box binds from the host. Where these files
 * live does not matter (the box stages them as root, boxStage.ts), but their own modes do: the
 * box reads them as an unprivileged uid with no groups. A checkout or `npm install` made with
 * umask 077 leaves them readable by root only.
 * @throws DriverError `unavailable` naming the first unusable path, its mode and the chmod to run.
 */
export async function ensureBoxAssets(assets: BoxAssets): Promise<void> {
  await ensureUsableFile(assets.nodePath, 'the node binary bound as /opt/remote-claude/bin/node');
  if (assets.claudePath)
    await ensureUsableFile(
      assets.claudePath,
      'the Claude Code binary bound as /opt/remote-claude/bin/claude',
    );
  const agentDir = assets.agentDir;
  const top = await stat(agentDir).catch(() => undefined);
  if (!top?.isDirectory()) {
    throw unavailable(
      `The agent bundle ${agentDir} is missing: every local workspace runs the agent from it. Build it with \`npm run build\`.`,
    );
  }
  if (!(await stat(join(agentDir, 'agent.js')).catch(() => undefined))?.isFile()) {
    throw unavailable(
      `The agent bundle ${agentDir} has no agent.js: every local workspace runs the agent from it. Build it with \`npm run build\`.`,
    );
  }
  const bad = await firstUnreadable(agentDir);
  if (bad) {
    throw unavailable(
      `Workspace users cannot read ${bad.path} (mode ${bad.mode.toString(8)}), part of the agent bundle ` +
        `every local workspace runs. Run \`chmod -R a+rX ${agentDir}\` (files made under umask 077 ` +
        'are readable by their owner only).',
    );
  }
}

async function ensureUsableFile(path: string, what: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw unavailable(`${path}, ${what}, is missing or not a file.`);
  const mode = st.mode & 0o7777;
  if ((mode & (OTHERS_R | OTHERS_X)) !== (OTHERS_R | OTHERS_X)) {
    throw unavailable(
      `Workspace users cannot run ${path} (mode ${mode.toString(8)}), ${what}. Run \`chmod a+rx ${path}\` ` +
        '(files made under umask 077 are usable by their owner only).',
    );
  }
}

/**
 * The first directory others cannot list and enter, or file they cannot read (or run, when its
 * owner can), below `dir`. Symbolic links are not followed: the box resolves them in its own view.
 */
async function firstUnreadable(dir: string): Promise<{ path: string; mode: number } | undefined> {
  const pending = [dir];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const st = await lstat(path);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      if ((mode & (OTHERS_R | OTHERS_X)) !== (OTHERS_R | OTHERS_X)) return { path, mode };
      for (const name of (await readdir(path)).sort().reverse()) pending.push(join(path, name));
    } else if (st.isFile()) {
      const needed = OTHERS_R | (mode & 0o100 ? OTHERS_X : 0);
      if ((mode & needed) !== needed) return { path, mode };
    }
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}
