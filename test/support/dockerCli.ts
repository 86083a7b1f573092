// The `docker` command-line client pointed at one daemon's unix socket, for test support code that
// builds images and starts daemons (the driver itself talks to the Engine API through dockerode).
// The client on PATH may be newer than the daemon (28.x against Debian's 20.10 here); it
// negotiates the API version down by itself.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's docker.io listens here; test/setupHost.sh starts it when nothing answers. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface DockerRunOptions {
  /** Kills the client after this many milliseconds (default 120 s). */
  timeoutMs?: number;
  cwd?: string;
}

export interface DockerCli {
  readonly socketPath: string;
  /** Runs `docker -H unix://<socket> …args`; returns stdout; throws with the client's stderr. */
  run(args: string[], opts?: DockerRunOptions): Promise<string>;
  /** True when `docker image inspect <ref>` finds the image. */
  hasImage(ref: string): Promise<boolean>;
  /** True when the daemon answers `docker version` within a few seconds. */
  isAnswering(): Promise<boolean>;
}

export function dockerCli(socketPath: string = DEFAULT_DOCKER_SOCKET): DockerCli {
  // DOCKER_BUILDKIT=0: without the buildx plugin (absent here) a client with BuildKit turned on
  // refuses to build at all; the classic builder needs nothing beyond the daemon. DOCKER_HOST and
  // DOCKER_CONTEXT are dropped so that -H alone says which daemon is meant.
  const { DOCKER_HOST: _host, DOCKER_CONTEXT: _context, ...inherited } = process.env;
  const env = { ...inherited, DOCKER_BUILDKIT: '0' };
  const host = `unix://${socketPath}`;
  const cli: DockerCli = {
    socketPath,
    async run(args, opts = {}) {
      try {
        const { stdout } = await run('docker', ['-H', host, ...args], {
          env,
          cwd: opts.cwd,
          timeout: opts.timeoutMs ?? 120_000,
          maxBuffer: 64 * 1024 * 1024,
        });
        return stdout;
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
        if (e.code === 'ENOENT') throw new Error('The docker client is not installed (no `docker` on PATH).');
        const why = e.killed
          ? 'timed out'
          : (e.stderr?.trim().split('\n').slice(-15).join('\n') ?? e.message);
        throw new Error(`docker ${args.slice(0, 2).join(' ')} on ${host} failed: ${why}`, { cause: err });
      }
    },
    async hasImage(ref) {
      return cli.run(['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 30_000 }).then(
        () => true,
        () => false,
      );
    },
    async isAnswering() {
      return cli.run(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5_000 }).then(
        () => true,
        () => false,
      );
    },
  };
  return cli;
}

/** Throws a sentence saying how to get a daemon when none answers on the socket. */
export async function ensureDockerAnswers(cli: DockerCli): Promise<void> {
  if (await cli.isAnswering()) return;
  throw new Error(
    `No Docker daemon answers on unix://${cli.socketPath}. \`npm test\` starts one through ` +
      'test/setupHost.sh; run `bash test/setupHost.sh` (as root) before running these tests alone.',
  );
}
