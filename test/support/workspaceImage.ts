// The workspace image for Docker tests: the product's own builder (`rclaude image build`,
// server/images/workspaceImage.ts) with a tag named by the hash of its inputs, so every test run
// on a machine shares one build and a rerun with nothing changed only inspects the tag.
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import {
  buildWorkspaceImage,
  defaultImageInputs,
  inputsHash,
  type WorkspaceImageInputs,
} from '../../server/images/workspaceImage.js';
import { claudeBinary } from './claudeBinary.js';
import { DEFAULT_DOCKER_SOCKET, type DockerCli, dockerCli, ensureDockerAnswers } from './dockerCli.js';
import { withFileLock } from './fileLock.js';

const run = promisify(execFile);

export const WORKSPACE_IMAGE_REPO = 'remote-claude-workspace-test';
/** Shared by every test run on the machine: the Debian tarball and remembered digests. */
export const TEST_CACHE_DIR = '/var/cache/remote-claude-test';

/** This checkout's inputs: its Dockerfile, dist/agent, node_modules' claude and this node. */
export function testImageInputs(): WorkspaceImageInputs {
  return defaultImageInputs(claudeBinary());
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

async function buildIfMissing(cli: DockerCli): Promise<string> {
  await ensureDockerAnswers(cli);
  const inputs = testImageInputs();
  await ensureAgentBundle(inputs.agentDir);
  const ref = `${WORKSPACE_IMAGE_REPO}:${(await inputsHash(inputs, TEST_CACHE_DIR)).slice(0, 20)}`;
  if (await cli.hasImage(ref)) return ref;
  await mkdir(TEST_CACHE_DIR, { recursive: true });
  return withFileLock(join(TEST_CACHE_DIR, 'workspace-image.lock'), 30 * 60_000, async () => {
    // Another process may have built it while this one waited for the lock.
    if (await cli.hasImage(ref)) return ref;
    await buildWorkspaceImage({
      docker: new Docker({ socketPath: cli.socketPath }),
      tag: ref,
      inputs,
      cacheDir: TEST_CACHE_DIR,
    });
    return ref;
  });
}

/** dist/agent is normally built by test/globalSetup.ts; a test run alone may not have it. */
async function ensureAgentBundle(agentDir: string): Promise<void> {
  if (await stat(join(agentDir, 'agent.js')).catch(() => undefined)) return;
  const repo = join(agentDir, '..', '..');
  await run(process.execPath, [join(repo, 'scripts', 'bundleAgent.mjs')], { cwd: repo, timeout: 120_000 });
}
