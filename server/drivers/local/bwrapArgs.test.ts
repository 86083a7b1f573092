import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BoxMounts, boxEnv, bwrapArgs } from './bwrapArgs.js';
import { hostLayout, sandboxFiles } from './sandboxFiles.js';

const mounts: BoxMounts = {
  uid: 200001,
  gid: 200001,
  withClaude: false,
  env: { RC_AGENT_TOKEN: 'secret', HOME: '/elsewhere', HTTPS_PROXY: 'http://evil:1' },
  layout: {
    topLevel: [
      { name: 'bin', kind: 'symlink', target: 'usr/bin' },
      { name: 'lib64', kind: 'dir' },
    ],
    etc: ['ld.so.cache', 'ssl'],
  },
};

/** The value following `flag` each time it occurs, as pairs for flags with two operands. */
const operands = (args: string[], flag: string, width = 2) =>
  args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + width).join(' ')] : []));

describe('bwrapArgs', () => {
  const args = bwrapArgs(mounts);

  it('unshares every namespace, starts a new session and never ties the box to its parent', () => {
    expect(args.slice(0, 4)).toEqual([
      '--unshare-all',
      '--unshare-user',
      '--disable-userns',
      '--new-session',
    ]);
    expect(args).not.toContain('--die-with-parent');
    expect(args).not.toContain('--share-net');
    expect(operands(args, '--uid', 1)).toEqual(['200001']);
  });

  it('clears the environment before setting it, with the platform values winning', () => {
    expect(args.indexOf('--clearenv')).toBeLessThan(args.indexOf('--setenv'));
    const env = Object.fromEntries(operands(args, '--setenv').map((p) => p.split(' ')));
    expect(env).toMatchObject({
      RC_AGENT_TOKEN: 'secret',
      HOME: '/home/user',
      HTTPS_PROXY: 'http://127.0.0.1:3128',
    });
    expect(env.NO_PROXY).toBe('');
  });

  it('mirrors the host layout read-only and binds only the workspace, home and socket dir read-write', () => {
    expect(operands(args, '--symlink')).toEqual(['usr/bin /bin']);
    expect(operands(args, '--ro-bind')).toEqual([
      '/usr /usr',
      '/lib64 /lib64',
      '/tmp/node /opt/remote-claude/bin/node',
      '/tmp/agent /opt/remote-claude/agent',
    ]);
    expect(operands(args, '--ro-bind-try')).toEqual([
      '/etc/ld.so.cache /etc/ld.so.cache',
      '/etc/ssl /etc/ssl',
    ]);
    expect(operands(args, '--ro-bind-data')).toEqual(['5 /etc/passwd', '6 /etc/group', '7 /etc/hosts']);
    expect(operands(args, '--dir', 1)).toEqual([
      '/etc',
      '/home',
      '/opt',
      '/opt/remote-claude',
      '/opt/remote-claude/bin',
      '/run',
    ]);
    expect(operands(args, '--bind')).toEqual([
      '/tmp/workspace /workspace',
      '/tmp/home /home/user',
      '/tmp/agent-socket /run/remote-claude',
    ]);
    expect(operands(args, '--tmpfs', 1)).toEqual(['/dev/shm', '/tmp']);
    expect(operands(args, '--chdir', 1)).toEqual(['/workspace']);
  });

  it('binds the claude binary read-only into /opt/remote-claude/bin only when given one', () => {
    expect(args).not.toContain('/opt/remote-claude/bin/claude');
    const withClaude = bwrapArgs({ ...mounts, withClaude: true });
    expect(operands(withClaude, '--ro-bind')).toContain('/tmp/claude /opt/remote-claude/bin/claude');
    expect(withClaude.slice(-4)).toEqual(['--remount-ro', '/dev', '--remount-ro', '/']);
  });

  it('remounts /dev and then the root read-only last', () => {
    expect(args.slice(-4)).toEqual(['--remount-ro', '/dev', '--remount-ro', '/']);
  });
});

describe('boxEnv', () => {
  it('points every proxy variable at the agent forwarder', () => {
    expect(boxEnv({})).toMatchObject({
      HTTP_PROXY: 'http://127.0.0.1:3128',
      http_proxy: 'http://127.0.0.1:3128',
      https_proxy: 'http://127.0.0.1:3128',
      no_proxy: '',
      PATH: '/usr/local/bin:/usr/bin:/bin:/opt/remote-claude/bin',
    });
  });
});

describe('sandboxFiles', () => {
  it('lists only root, the workspace user and nobody', () => {
    const files = sandboxFiles(200007, 200007);
    expect(
      files.passwd
        .trim()
        .split('\n')
        .map((l) => l.split(':')[0]),
    ).toEqual(['root', 'user', 'nobody']);
    expect(files.passwd).toContain('user:x:200007:200007:Workspace user:/home/user:/bin/bash');
    expect(files.group).toContain('user:x:200007:');
    expect(files.hosts).toMatch(/^127\.0\.0\.1 localhost/m);
    expect(files.hosts).toMatch(/^::1 localhost$/m);
  });
});

describe('hostLayout', () => {
  it('reads top-level symlinks and dirs and the wanted /etc entries of a host', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rc-host-'));
    await symlink('usr/bin', join(root, 'bin'));
    await mkdir(join(root, 'lib'));
    await mkdir(join(root, 'etc'));
    for (const f of ['ld.so.cache', 'shadow', 'ca-certificates.conf', 'nsswitch.conf'])
      await writeFile(join(root, 'etc', f), '');
    expect(await hostLayout(root)).toEqual({
      topLevel: [
        { name: 'bin', kind: 'symlink', target: 'usr/bin' },
        { name: 'lib', kind: 'dir' },
      ],
      etc: ['ld.so.cache', 'nsswitch.conf', 'ca-certificates.conf'],
    });
    await rm(root, { recursive: true, force: true });
  });
});
