// Builds (or finds) the locally made workspace test image and checks what the Docker driver's tests
// rely on inside it. Needs a Docker daemon: `npm test` starts one (test/setupHost.sh); without one
// these tests fail with a sentence saying so rather than skip, so a missing engine is never silent.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { dockerCli, ensureDockerAnswers } from './dockerCli.js';
import { ensureWorkspaceImage, WORKSPACE_IMAGE_REPO } from './workspaceImage.js';

const docker = dockerCli();
let image = '';

describe('ensureWorkspaceImage', () => {
  beforeAll(async () => {
    await ensureDockerAnswers(docker);
    // The first build on a machine runs debootstrap (about a minute) and copies 500 MB of binaries.
    image = await ensureWorkspaceImage();
  }, 15 * 60_000);

  it('returns a tag of the test repository that the daemon has', async () => {
    expect(image).toMatch(new RegExp(`^${WORKSPACE_IMAGE_REPO}:[0-9a-f]{20}$`));
    expect(await docker.hasImage(image)).toBe(true);
  });

  it('answers a second time from the cache in under 3 s', async () => {
    // A fresh module instance, so the in-process memo does not answer for it.
    vi.resetModules();
    const fresh = await import('./workspaceImage.js');
    const started = performance.now();
    expect(await fresh.ensureWorkspaceImage()).toBe(image);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  const inImage = (...cmd: string[]) =>
    docker.run(['run', '--rm', '--network', 'none', image, ...cmd], { timeoutMs: 60_000 });

  it('runs the host node, git and the claude binary without a network', async () => {
    expect((await inImage('node', '--version')).trim()).toBe(process.version);
    expect(await inImage('git', '--version')).toMatch(/^git version 2\./);
    expect(await inImage('/opt/remote-claude/bin/claude', '--version')).toMatch(/2\.1\.330/);
  });

  it('runs as user 1000 in /workspace with the agent bundle in place', async () => {
    expect((await inImage('id', '-u')).trim()).toBe('1000');
    expect((await inImage('sh', '-c', 'pwd; echo $HOME; test -w /workspace && echo writable')).trim()).toBe(
      '/workspace\n/home/user\nwritable',
    );
    expect((await inImage('test', '-f', '/opt/remote-claude/agent/agent.js').then(() => 'ok')).trim()).toBe(
      'ok',
    );
    const config = JSON.parse(await docker.run(['image', 'inspect', '--format', '{{json .Config}}', image]));
    expect(config.Cmd).toEqual(['node', '/opt/remote-claude/agent/agent.js']);
    expect(config.User).toBe('1000:1000');
  });
});
