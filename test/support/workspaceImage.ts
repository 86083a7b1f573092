// The workspace image for Docker tests, built on this machine because no registry can be pulled.
// Same layout as the production image (deploy/images/workspace/Dockerfile): node on PATH, Claude
// Code at /opt/remote-claude/bin/claude, the agent bundle at /opt/remote-claude/agent, user `user`
// (uid 1000) with home /home/user, and /workspace. Built in two layers:
//   1. a debootstrap'd Debian bookworm (minbase + the packages below), `docker import`ed;
//   2. a small Dockerfile FROM it that adds the host's node binary, the claude binary of
//      node_modules and dist/agent.
// The tag is a hash of every input, so a rerun with nothing changed only runs `docker image inspect`.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, cp, link, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { claudeBinary } from './claudeBinary.js';
import { CACHE_DIR, ensureRootfsTarball, type RootfsRecipe, recipeHash } from './debianRootfs.js';
import { DEFAULT_DOCKER_SOCKET, type DockerCli, dockerCli, ensureDockerAnswers } from './dockerCli.js';
import { fileDigest, filesUnder } from './fileDigest.js';
import { withFileLock } from './fileLock.js';

const run = promisify(execFile);
// The repository root: two levels up from the source, three from the compiled copy in dist/
// (benchmarks run that one).
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, ...(HERE.split('/').includes('dist') ? ['..', '..', '..'] : ['..', '..']));
const AGENT_DIR = join(REPO, 'dist', 'agent');

export const WORKSPACE_IMAGE_REPO = 'remote-claude-workspace-test';
const ROOTFS_IMAGE_REPO = 'remote-claude-rootfs-test';

/** What the agent, clones, terminals and the isolation tests run inside a workspace. */
const ROOTFS: RootfsRecipe = {
  suite: 'bookworm',
  variant: 'minbase',
  packages: ['git', 'ca-certificates', 'bash', 'tar', 'gzip', 'curl', 'procps'],
};

function dockerfile(base: string): string {
  // `node --version` in the RUN step proves at build time that the host's node finds its shared
  // libraries (libstdc++, libgcc_s) in minbase. The files keep their modes from the context, so no
  // chmod is needed (one would copy the 380 MB claude binary into another layer). The node link in
  // /opt/remote-claude/bin matches the local driver's layout (server/drivers/local/bwrapArgs.ts).
  return `FROM ${base}
COPY node /usr/local/bin/node
COPY claude /opt/remote-claude/bin/claude
COPY agent/ /opt/remote-claude/agent/
RUN groupadd --gid 1000 user \\
 && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/user --shell /bin/bash user \\
 && mkdir -p /workspace && chown user:user /workspace \\
 && ln -s /usr/local/bin/node /opt/remote-claude/bin/node \\
 && /usr/local/bin/node --version
ENV PATH=/opt/remote-claude/bin:/usr/local/bin:/usr/bin:/bin HOME=/home/user LANG=C.UTF-8
USER 1000:1000
WORKDIR /workspace
CMD ["node", "/opt/remote-claude/agent/agent.js"]
`;
}

const pending = new Map<string, Promise<string>>();

/**
 * Returns a reference like `remote-claude-workspace-test:<hash>` to an image on the daemon at
 * `opts.docker` (a unix socket path, default /var/run/docker.sock), building it only when that
 * tag is missing: about a minute the first time on a machine (debootstrap), 10-20 s when only
 * the agent or a binary changed, under a second after that.
 * Builds the agent bundle first if dist/agent is missing. Safe to call from several test files at
 * once (one build per machine at a time, under a lock file in /var/cache/remote-claude-test).
 * Throws with a readable sentence when no daemon answers, debootstrap is missing or a step fails.
 */
export async function ensureWorkspaceImage(opts: { docker?: string } = {}): Promise<string> {
  const socket = opts.docker ?? DEFAULT_DOCKER_SOCKET;
  let result = pending.get(socket);
  if (!result) {
    result = buildIfMissing(dockerCli(socket));
    pending.set(socket, result);
    result.catch(() => pending.delete(socket));
  }
  return result;
}

async function buildIfMissing(docker: DockerCli): Promise<string> {
  await ensureDockerAnswers(docker);
  await ensureAgentBundle();
  const node = process.execPath;
  const claude = claudeBinary();
  const agentFiles = await filesUnder(AGENT_DIR);
  const rootfsKey = recipeHash(ROOTFS).slice(0, 16);
  const base = `${ROOTFS_IMAGE_REPO}:${rootfsKey}`;

  const hash = createHash('sha256');
  hash.update(`rootfs ${recipeHash(ROOTFS)}\n`);
  hash.update(`dockerfile ${dockerfile(base)}\n`);
  hash.update(`node ${await fileDigest(node)}\n`);
  hash.update(`claude ${await fileDigest(claude)}\n`);
  for (const file of agentFiles)
    hash.update(`agent/${relative(AGENT_DIR, file)} ${await fileDigest(file)}\n`);
  const ref = `${WORKSPACE_IMAGE_REPO}:${hash.digest('hex').slice(0, 20)}`;
  if (await docker.hasImage(ref)) return ref;

  await mkdir(CACHE_DIR, { recursive: true });
  return withFileLock(join(CACHE_DIR, 'workspace-image.lock'), 30 * 60_000, async () => {
    // Another process may have built it while this one waited for the lock.
    if (await docker.hasImage(ref)) return ref;
    if (!(await docker.hasImage(base))) {
      const tarball = await ensureRootfsTarball(ROOTFS);
      await docker.run(['image', 'import', tarball, base], { timeoutMs: 600_000 });
    }
    const context = await mkdtemp(join(CACHE_DIR, 'context-'));
    try {
      await placeFile(node, join(context, 'node'));
      await placeFile(claude, join(context, 'claude'));
      await cp(AGENT_DIR, join(context, 'agent'), { recursive: true });
      await writeFile(join(context, 'Dockerfile'), dockerfile(base));
      // --network none: the default bridge does not exist (dockerd runs with --bridge=none) and
      // the build needs no network.
      await docker.run(['build', '--network', 'none', '--force-rm', '--tag', ref, context], {
        timeoutMs: 900_000,
      });
    } finally {
      await rm(context, { recursive: true, force: true });
    }
    return ref;
  });
}

/** dist/agent is normally built by test/globalSetup.ts; a test run alone may not have it. */
async function ensureAgentBundle(): Promise<void> {
  if (await stat(join(AGENT_DIR, 'agent.js')).catch(() => undefined)) return;
  await run(process.execPath, [join(REPO, 'scripts', 'bundleAgent.mjs')], { cwd: REPO, timeout: 120_000 });
}

/** A hard link when the file is on the same filesystem (the claude binary is 380 MB), else a copy. */
async function placeFile(src: string, dest: string): Promise<void> {
  await link(src, dest).catch(() => copyFile(src, dest));
}
