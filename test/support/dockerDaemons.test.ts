// A second Docker daemon beside the main test daemon, as the multi-host tests use it: its own
// socket, data root, containerd and ID, running containers while the main one does. Needs root and
// Debian's docker.io (test/setupHost.sh); fails rather than skips without them.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type DockerCli, dockerCli, ensureDockerAnswers } from './dockerCli.js';
import { type ExtraDockerd, startExtraDockerd } from './dockerDaemons.js';

const run = promisify(execFile);
const name = `t${process.pid}`;
const tiny = `rc-test-tiny:${process.pid}`;

/** An image of the host's /bin/sh and the libraries it loads, a few MB: no registry, no debootstrap. */
async function tinyImageTarball(dir: string): Promise<string> {
  const { stdout } = await run('ldd', ['/bin/sh']);
  const libs = [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] as string);
  const tarball = join(dir, 'tiny.tar');
  // -h stores what the links point at, under the linked names (/bin and /lib are links here).
  await run('tar', ['-C', '/', '-chf', tarball, 'bin/sh', ...libs.map((lib) => lib.slice(1))]);
  return tarball;
}

const info = (cli: DockerCli) =>
  cli.run(['info', '--format', '{{.ID}} {{.DockerRootDir}}']).then((out) => out.trim().split(' '));

describe('startExtraDockerd', () => {
  let extra: ExtraDockerd | undefined;
  let dir = '';
  afterAll(async () => {
    await extra?.stop();
    await rm(`/var/lib/rc-test-dockerd-${name}`, { recursive: true, force: true });
    await rm(`/var/run/rc-test-dockerd-${name}`, { recursive: true, force: true });
    await rm(`/var/log/rc-test-dockerd-${name}.log`, { force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a second daemon with its own socket, data root and ID beside the main one, then stops it', async () => {
    const main = dockerCli();
    await ensureDockerAnswers(main);
    extra = await startExtraDockerd(name);
    expect(extra.socketPath).toBe(`/var/run/rc-test-dockerd-${name}.sock`);
    const second = dockerCli(extra.socketPath);

    const [mainId, mainRoot] = await info(main);
    const [secondId, secondRoot] = await info(second);
    expect(secondRoot).toBe(`/var/lib/rc-test-dockerd-${name}`);
    expect(secondRoot).not.toBe(mainRoot);
    expect(secondId).not.toBe(mainId);

    // An image imported into the second daemon is not in the main one, and a container runs on it.
    dir = await mkdtemp(join(tmpdir(), 'rc-dockerd-test-'));
    await second.run(['image', 'import', await tinyImageTarball(dir), tiny]);
    expect(await main.hasImage(tiny)).toBe(false);
    expect(
      (await second.run(['run', '--rm', '--network', 'none', tiny, '/bin/sh', '-c', 'echo $((6*7))'])).trim(),
    ).toBe('42');
    // gVisor is registered there too: its kernel reports itself as Linux 4.4.0.
    expect(
      (
        await second.run([
          'run',
          '--rm',
          '--runtime',
          'runsc',
          '--network',
          'none',
          tiny,
          '/bin/sh',
          '-c',
          'read v < /proc/version; echo $v',
        ])
      ).trim(),
    ).toMatch(/^Linux version 4\.4\.0 /);

    await extra.stop();
    await extra.stop();
    expect(await second.isAnswering()).toBe(false);
    expect(await main.isAnswering()).toBe(true);
  }, 120_000);

  it('refuses a bad name', async () => {
    await expect(startExtraDockerd('../etc')).rejects.toThrow(/Bad dockerd name/);
  });
});
