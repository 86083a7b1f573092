// `rclaude image build` end to end: the real CLI builds the workspace image on the shared Docker
// daemon with no registry, tags it with the configured runtime.docker.image, and a real workspace
// then starts on it with the docker driver. Its bad flags fail with one sentence each.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUTS_LABEL } from '../../server/images/workspaceImage.js';
import { dockerCli, ensureDockerAnswers } from '../support/dockerCli.js';
import { ensureBuilt } from '../support/ensureBuilt.js';
import { expectFailure, rclaude } from '../support/rclaude.js';
import { ensureWorkspaceImage, TEST_CACHE_DIR } from '../support/workspaceImage.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

let home: string;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'rclaude-image-test-'));
  await ensureBuilt();
}, 150_000);
afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

describe.concurrent('rclaude image build: bad flags', () => {
  const cases: [string, string[], RegExp][] = [
    ['a tag Docker refuses', ['--tag', 'Not A Tag'], /^rclaude: --tag must be an image name like/],
    ['a relative socket', ['--socket', 'docker.sock'], /^rclaude: --socket must be the absolute path/],
    ['a mirror that is not a URL', ['--mirror', 'debian'], /^rclaude: --mirror must be the http\(s\):\/\//],
    ['an ftp mirror', ['--mirror', 'ftp://mirror.example/debian'], /^rclaude: --mirror must be/],
    ['a relative cache dir', ['--cache-dir', 'cache'], /^rclaude: --cache-dir must be an absolute/],
    [
      'an unknown flag',
      ['--registry', 'x'],
      /^rclaude: unknown option '--registry'.*rclaude image build --help/,
    ],
    [
      'a socket with no daemon',
      ['--socket', '/nonexistent/docker.sock'],
      /^rclaude: no Docker daemon answers on \/nonexistent\/docker.sock .*--socket$/,
    ],
  ];
  it.each(cases)('%s', async (_name, flags, message) => {
    expectFailure(await rclaude(home, ['image', 'build', ...flags]), message);
  });

  it('a configured image name Docker refuses', async () => {
    const file = join(home, 'bad-image.yaml');
    writeFileSync(file, 'runtime:\n  docker:\n    image: "Has Spaces:latest"\n');
    expectFailure(
      await rclaude(home, ['image', 'build', '-c', file]),
      /^rclaude: runtime.docker.image "Has Spaces:latest" is not an image name Docker accepts; fix it or pass --tag$/,
    );
  });
});

describe('rclaude image build on the test daemon', () => {
  const tag = `remote-claude-image-test:${randomBytes(4).toString('hex')}`;
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  let k: WorkspaceKit | undefined;
  beforeAll(async () => {
    await ensureDockerAnswers(dockerCli());
    // The Debian tarball and the bases are shared with the test image, so only the image itself
    // is built here (and its steps come from the daemon's build cache when the test image exists).
    await ensureWorkspaceImage();
  }, 15 * 60_000);
  afterAll(async () => {
    await k?.close();
    await docker
      .getImage(tag)
      .remove()
      .catch(() => {});
  });

  const build = (...flags: string[]) =>
    rclaude(home, ['image', 'build', '--cache-dir', TEST_CACHE_DIR, ...flags], { timeoutMs: 10 * 60_000 });

  it(
    'builds and tags the configured image, showing each step',
    async () => {
      const config = join(home, 'rc.yaml');
      writeFileSync(config, `runtime:\n  driver: docker\n  docker:\n    image: ${tag}\n`);
      const r = await build('-c', config);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Built ${tag} \\([0-9a-f]{12}\\) in \\d+ s\\.`));
      // Progress: every step numbered, the Dockerfile's steps as the daemon runs them.
      const steps = r.stderr.trim().split('\n');
      expect(steps[0]).toMatch(/^\[1\/4\] hashing the inputs/);
      expect(steps.some((l) => /^\[2\/4\] Debian base remote-claude\/debian-rootfs:/.test(l))).toBe(true);
      expect(steps.some((l) => /^\[4\/4\] Step \d+\/\d+ : FROM /.test(l))).toBe(true);
      expect(steps.at(-1)).toMatch(new RegExp(`^\\[4/4\\] tagged ${tag}`));
      const info = await docker.getImage(tag).inspect();
      expect(info.Config.Labels?.[INPUTS_LABEL]).toMatch(/^[0-9a-f]{64}$/);
      expect(info.Config.Cmd).toEqual(['node', '/opt/remote-claude/agent/agent.js']);
    },
    10 * 60_000,
  );

  it('a second run finds the image up to date and builds nothing', async () => {
    const r = await build('--tag', tag);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${tag} is up to date \\([0-9a-f]{12}\\); nothing to build\\.`));
    expect(r.stderr).not.toMatch(/Step /);
  }, 120_000);

  it('a workspace starts on the built image with the docker driver', async () => {
    k = await startWorkspaceKit({ flags: { 'runtime.driver': 'docker', 'runtime.docker.image': tag } });
    const ws = await k.settle((await k.create(k.repo('app'))).id);
    expect(ws, ws.statusReason ?? '').toMatchObject({ status: 'running', agentConnected: true });
    expect((await k.exec(ws.id, ['cat', '/workspace/README.md'])).stdout).toBe('# app\n');
    expect((await k.exec(ws.id, ['/opt/remote-claude/bin/claude', '--version'])).stdout).toMatch(/2\.1\.330/);
    const container = await docker
      .getContainer(`rc-${k.t.config.runtime.docker.installation}-${ws.id}`)
      .inspect();
    expect(container.Config.Image).toBe(tag);
  }, 120_000);
});
