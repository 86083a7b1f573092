import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureBoxAssets, ensureHostTools } from './boxPreflight.js';

// Real files with real modes; the checks run as root, which is why they look at the mode bits
// rather than ask access(2), which would always say yes.
describe('ensureBoxAssets', () => {
  let dir: string;
  let agentDir: string;
  let nodePath: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rc-pf-'));
    agentDir = join(dir, 'agent');
    await mkdir(join(agentDir, 'node_modules', 'node-pty'), { recursive: true, mode: 0o755 });
    await writeFile(join(agentDir, 'agent.js'), '', { mode: 0o644 });
    await writeFile(join(agentDir, 'node_modules', 'node-pty', 'pty.node'), '', { mode: 0o755 });
    // A link is not followed (the box resolves it in its own view), even a dangling one.
    await symlink('/nonexistent', join(agentDir, 'node_modules', 'dangling'));
    nodePath = join(dir, 'node');
    await writeFile(nodePath, '', { mode: 0o755 });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('accepts a bundle, node and claude that other users can read and run, wherever they are', async () => {
    await chmod(dir, 0o700);
    await ensureBoxAssets({ nodePath, agentDir, claudePath: nodePath });
  });

  it('names a directory of the bundle others cannot enter, with its mode and the chmod', async () => {
    await chmod(join(agentDir, 'node_modules'), 0o700);
    await expect(ensureBoxAssets({ nodePath, agentDir })).rejects.toMatchObject({
      reason: 'unavailable',
      userMessage: expect.stringContaining(
        `Workspace users cannot read ${join(agentDir, 'node_modules')} (mode 700), part of the agent bundle every local workspace runs. Run \`chmod -R a+rX ${agentDir}\``,
      ),
    });
  });

  it('names a program its owner may run but others may not', async () => {
    await chmod(join(agentDir, 'node_modules', 'node-pty', 'pty.node'), 0o744);
    await expect(ensureBoxAssets({ nodePath, agentDir })).rejects.toThrow(
      `Workspace users cannot read ${join(agentDir, 'node_modules', 'node-pty', 'pty.node')} (mode 744)`,
    );
  });

  it('names a claude binary others cannot run, and a missing or non-file one', async () => {
    const claudePath = join(dir, 'claude.exe');
    await writeFile(claudePath, '', { mode: 0o700 });
    await expect(ensureBoxAssets({ nodePath, agentDir, claudePath })).rejects.toThrow(
      `Workspace users cannot run ${claudePath} (mode 700), the Claude Code binary bound as /opt/remote-claude/bin/claude. Run \`chmod a+rx ${claudePath}\``,
    );
    await expect(ensureBoxAssets({ nodePath, agentDir, claudePath: dir })).rejects.toThrow(
      `${dir}, the Claude Code binary bound as /opt/remote-claude/bin/claude, is missing or not a file.`,
    );
  });

  it('names a bundle without agent.js and says how to build it', async () => {
    await rm(join(agentDir, 'agent.js'));
    await expect(ensureBoxAssets({ nodePath, agentDir })).rejects.toThrow(
      `The agent bundle ${agentDir} has no agent.js: every local workspace runs the agent from it. Build it with \`npm run build\`.`,
    );
  });
});

describe('ensureHostTools', () => {
  it('finds bwrap, setpriv, unshare, mount and bash on this host', async () => {
    await ensureHostTools('bwrap');
  });

  it('names a missing bwrap, its package and the setting', async () => {
    await expect(ensureHostTools('bwrap-absent')).rejects.toThrow(
      'The local runtime needs bwrap-absent (looked in /usr/sbin, /usr/bin, /sbin, /bin), which is missing. Install it (apt-get install bubblewrap) or set runtime.local.bwrapPath, or set RC_RUNTIME=docker.',
    );
  });
});
