import { spawn } from 'node:child_process';
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { opError, type RpcPeer } from '../sdk/rpcPeer.js';
import { defineHandler, type Handlers } from './defineHandler.js';
import { log } from './log.js';
import type { WorkspaceRoot } from './workspaceRoot.js';

/** git clones here, inside the workspace (same file system), and the entries are moved up. */
const CLONE_TEMP = '.rc-clone-tmp';
/** At most this many `repo.progress` notifications per second; git rewrites its counters far faster. */
const PROGRESS_PER_SECOND = 5;

let cloning = false;

export function cloneHandlers(peer: RpcPeer, root: WorkspaceRoot): Handlers {
  return defineHandler('repo.clone', async ({ url, branch }) => {
    if (await pathExists(path.join(root.dir, '.git'))) return { cloned: false };
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      protocol = '';
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw opError('git_failed', 'only http(s) repository URLs are supported');
    }
    if (branch?.startsWith('-')) throw opError('git_failed', `"${branch}" is not a branch name.`);
    if (cloning) throw opError('busy', 'A clone is already running in this workspace.');
    cloning = true;
    try {
      await cloneInto(root.dir, url, branch, (line) => peer.notify('repo.progress', { line }));
      return { cloned: true };
    } finally {
      cloning = false;
    }
  });
}

/**
 * Clones into a temp directory inside the workspace and moves its entries up: the workspace
 * directory is a mount point that git cannot replace, and may already hold dotfiles.
 */
async function cloneInto(
  dir: string,
  url: string,
  branch: string | undefined,
  progress: (line: string) => void,
): Promise<void> {
  const temp = path.join(dir, CLONE_TEMP);
  await rm(temp, { recursive: true, force: true });
  const started = Date.now();
  try {
    await runGit(
      ['clone', '--progress', ...(branch ? ['--branch', branch] : []), '--', url, temp],
      dir,
      progress,
    );
    const entries = await readdir(temp);
    const taken: string[] = [];
    for (const name of entries) if (await pathExists(path.join(dir, name))) taken.push(name);
    if (taken.length > 0) {
      throw opError(
        'git_failed',
        `The workspace already has ${taken.join(', ')}; the checkout would overwrite it.`,
      );
    }
    for (const name of entries) await rename(path.join(temp, name), path.join(dir, name));
    log('repo.cloned', { ms: Date.now() - started });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** Runs git; rejects with git_failed carrying git's own explanation (its fatal/error lines). */
function runGit(args: string[], cwd: string, progress: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // HTTP(S)_PROXY come from the agent's environment; a prompt for credentials would hang forever.
    const git = spawn('git', args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const lines: string[] = [];
    let partial = '';
    let lastSent = 0;
    git.stderr.setEncoding('utf8');
    git.stderr.on('data', (text: string) => {
      // git redraws progress with \r, so both \r and \n end a line.
      const parts = (partial + text).split(/[\r\n]/);
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (lines.length > 200) lines.shift();
        const now = Date.now();
        if (now - lastSent >= 1000 / PROGRESS_PER_SECOND) {
          lastSent = now;
          progress(line.slice(0, 4096));
        }
      }
    });
    git.once('error', (err) => reject(opError('git_failed', `git could not be started: ${err.message}`)));
    git.once('close', (code) => {
      if (partial.trim()) lines.push(partial);
      if (code === 0) resolve();
      else reject(opError('git_failed', explain(lines, code)));
    });
  });
}

function explain(lines: string[], code: number | null): string {
  const meaningful = lines.filter((l) => /^(fatal|error):/.test(l));
  const picked = (meaningful.length > 0 ? meaningful : lines).slice(-5).join('\n');
  return (picked || `git clone failed (exit ${code}).`).slice(0, 4000);
}

async function pathExists(abs: string): Promise<boolean> {
  return lstat(abs).then(
    () => true,
    () => false,
  );
}
