// Builds the workspace image with no registry (`rclaude image build`): the production Dockerfile
// (deploy/images/workspace/Dockerfile) on two bases made here instead of pulled —
//   BASE        a debootstrap'd Debian bookworm with the image's packages, `docker import`ed;
//   NODE_IMAGE  an image holding only this host's node binary at /usr/local/bin/node —
// and a build context of just the Dockerfile, dist/agent and the pinned claude binary of
// node_modules. One Dockerfile for both ways, so both give the same layout.
//
// The image carries a label with a hash of every input, so a rerun with nothing changed only
// inspects the tag; the bases are named by their own content, so they are made once per machine.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, copyFile, cp, link, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ensureRootfsTarball, type RootfsRecipe, recipeHash } from './debianRootfs.js';
import { fileDigest, filesUnder } from './fileDigest.js';

/** What the agent, clones, terminals and the isolation tests run inside a workspace. */
export const WORKSPACE_ROOTFS: RootfsRecipe = {
  suite: 'bookworm',
  variant: 'minbase',
  packages: ['git', 'ca-certificates', 'bash', 'tar', 'gzip', 'curl', 'procps'],
};

/** The label holding the hash of an image's inputs. */
export const INPUTS_LABEL = 'remote-claude.image-inputs';
/** The `docker import`ed Debian root filesystem that the image is built FROM (its BASE). */
export const DEBIAN_BASE = `remote-claude/debian-rootfs:${recipeHash(WORKSPACE_ROOTFS).slice(0, 16)}`;
const NODE_REPO = 'remote-claude/node-binary';
/** Where in the context (and so in the repository) the Dockerfile expects the claude binary. */
const CLAUDE_IN_CONTEXT = 'node_modules/@anthropic-ai/claude-code/bin/claude.exe';

export interface WorkspaceImageInputs {
  dockerfile: string;
  nodePath: string;
  claudePath: string;
  agentDir: string;
}

/** The repository root: two levels up from server/images, three from dist/server/images. */
function repoRoot(): string {
  const here = import.meta.dirname;
  return resolve(here, ...(here.split('/').includes('dist') ? ['..', '..', '..'] : ['..', '..']));
}

/** This checkout's Dockerfile, agent bundle and claude binary, and the node running this process. */
export function defaultImageInputs(claudePath: string): WorkspaceImageInputs {
  const root = repoRoot();
  return {
    dockerfile: join(root, 'deploy', 'images', 'workspace', 'Dockerfile'),
    nodePath: process.execPath,
    claudePath,
    agentDir: join(root, 'dist', 'agent'),
  };
}

/** One step of a build, for the progress display. */
export interface BuildProgress {
  step: number;
  of: number;
  text: string;
}

export interface BuildOptions {
  docker: Docker;
  /** Repository and tag to give the image, e.g. remote-claude/workspace:latest. */
  tag: string;
  inputs: WorkspaceImageInputs;
  /** Holds the root filesystem tarball, remembered digests and build contexts. */
  cacheDir: string;
  mirror?: string | undefined;
  /** Rebuild even when the tag already has an image of the same inputs. */
  force?: boolean;
  progress?: (p: BuildProgress) => void;
}

export interface BuildResult {
  tag: string;
  /** The image id (sha256:…). */
  id: string;
  inputsHash: string;
  /** True when the tag already had an image of the same inputs and nothing was built. */
  upToDate: boolean;
}

const STEPS = 4;

/** Hex sha256 of everything that decides the image's content. */
export async function inputsHash(inputs: WorkspaceImageInputs, cacheDir: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`rootfs ${recipeHash(WORKSPACE_ROOTFS)}\n`);
  hash.update(`dockerfile ${await readFile(inputs.dockerfile, 'utf8')}\n`);
  hash.update(`node ${await fileDigest(inputs.nodePath, cacheDir)}\n`);
  hash.update(`claude ${await fileDigest(inputs.claudePath, cacheDir)}\n`);
  for (const file of await filesUnder(inputs.agentDir))
    hash.update(`agent/${relative(inputs.agentDir, file)} ${await fileDigest(file, cacheDir)}\n`);
  return hash.digest('hex');
}

/**
 * Builds the image and tags it `opts.tag`, unless that tag already holds an image of the same
 * inputs. Needs root the first time on a machine (debootstrap) and a Docker daemon.
 * Throws with a readable sentence when an input is missing or a step fails.
 */
export async function buildWorkspaceImage(opts: BuildOptions): Promise<BuildResult> {
  const { docker, inputs } = opts;
  const say = (step: number, text: string) => opts.progress?.({ step, of: STEPS, text });
  say(1, 'hashing the inputs (node, claude, the agent bundle, the Dockerfile)');
  await ensureInputs(inputs);
  const hash = await inputsHash(inputs, opts.cacheDir);
  const existing = await imageInfo(docker, opts.tag);
  if (!opts.force && existing?.Config?.Labels?.[INPUTS_LABEL] === hash) {
    say(STEPS, `${opts.tag} is up to date (inputs ${hash.slice(0, 12)})`);
    return { tag: opts.tag, id: existing.Id, inputsHash: hash, upToDate: true };
  }

  const base = DEBIAN_BASE;
  if (await imageInfo(docker, base)) {
    say(2, `Debian base ${base} is already on the daemon`);
  } else {
    say(2, `making a Debian ${WORKSPACE_ROOTFS.suite} root filesystem with debootstrap (about a minute)`);
    const tarball = await ensureRootfsTarball(WORKSPACE_ROOTFS, {
      cacheDir: opts.cacheDir,
      mirror: opts.mirror,
      progress: (line) => say(2, line),
    });
    say(2, `importing it as ${base}`);
    await importImage(docker, tarball, base);
  }

  const nodeImage = `${NODE_REPO}:${(await fileDigest(inputs.nodePath, opts.cacheDir)).slice(0, 16)}`;
  await mkdir(opts.cacheDir, { recursive: true });
  const context = await mkdtemp(join(opts.cacheDir, 'context-'));
  try {
    if (await imageInfo(docker, nodeImage)) {
      say(3, `node base ${nodeImage} is already on the daemon`);
    } else {
      say(3, `making ${nodeImage} from ${inputs.nodePath} (${process.version})`);
      await placeFile(inputs.nodePath, join(context, 'usr', 'local', 'bin', 'node'));
      await importImage(docker, tarOf(context), nodeImage);
      await rm(join(context, 'usr'), { recursive: true });
    }
    await placeFile(inputs.dockerfile, join(context, 'Dockerfile'));
    await placeFile(inputs.claudePath, join(context, CLAUDE_IN_CONTEXT));
    await cp(inputs.agentDir, join(context, 'dist', 'agent'), { recursive: true });
    say(4, `building ${opts.tag} from ${relative(process.cwd(), inputs.dockerfile) || inputs.dockerfile}`);
    const id = await build(docker, tarOf(context), {
      t: opts.tag,
      buildargs: { BASE: base, NODE_IMAGE: nodeImage },
      labels: { [INPUTS_LABEL]: hash },
      // The build needs no network: its base has every package already.
      networkmode: 'none',
      forcerm: true,
      onStep: (line) => say(4, line),
    });
    say(STEPS, `tagged ${opts.tag} (${id.slice(7, 19)})`);
    return { tag: opts.tag, id, inputsHash: hash, upToDate: false };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function ensureInputs(inputs: WorkspaceImageInputs): Promise<void> {
  const checks: [string, string][] = [
    [inputs.dockerfile, 'the workspace Dockerfile'],
    [inputs.claudePath, 'the claude binary (run `npm ci`)'],
    [join(inputs.agentDir, 'agent.js'), 'the agent bundle (run `npm run build`)'],
    [inputs.nodePath, 'the node binary'],
  ];
  for (const [path, what] of checks) {
    await access(path, constants.R_OK).catch(() => {
      throw new Error(`${what} is missing: ${path} cannot be read.`);
    });
  }
}

async function imageInfo(docker: Docker, ref: string): Promise<Docker.ImageInspectInfo | undefined> {
  return docker
    .getImage(ref)
    .inspect()
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return undefined;
      throw err;
    });
}

/** `docker import`: a tarball (a path or a stream) becomes an image of one layer. */
async function importImage(docker: Docker, tar: string | Readable, ref: string): Promise<void> {
  const [repo, tag] = splitRef(ref);
  const stream = await docker.importImage(tar as unknown as string, { repo, tag });
  await follow(docker, stream);
}

interface BuildArgs {
  t: string;
  buildargs: Record<string, string>;
  labels: Record<string, string>;
  networkmode: string;
  forcerm: boolean;
  onStep: (line: string) => void;
}

/** `docker build` with the classic builder; hands each "Step n/m : …" line to onStep. */
async function build(docker: Docker, context: Readable, args: BuildArgs): Promise<string> {
  const { onStep, ...options } = args;
  const stream = await docker.buildImage(context, options as Docker.ImageBuildOptions);
  let tail: string[] = [];
  await follow(docker, stream, (event) => {
    for (const line of (event.stream ?? '').split('\n')) {
      if (!line.trim()) continue;
      tail = [...tail, line].slice(-10);
      if (/^Step \d+\/\d+ :/.test(line)) onStep(line.length > 110 ? `${line.slice(0, 107)}...` : line);
    }
  }).catch((err: Error) => {
    throw new Error(`docker build failed: ${err.message}\n${tail.join('\n')}`, { cause: err });
  });
  const info = await imageInfo(docker, args.t);
  if (!info) throw new Error(`docker build finished but ${args.t} is not on the daemon.`);
  return info.Id;
}

interface ProgressEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Waits for the end of a progress stream; an `error` event in it rejects. */
function follow(docker: Docker, stream: NodeJS.ReadableStream, onEvent?: (e: ProgressEvent) => void) {
  return new Promise<void>((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (err) reject(err);
        else if (failure) reject(new Error(failure));
        else resolve();
      },
      (event: ProgressEvent) => {
        if (event.error) failure ??= event.errorDetail?.message ?? event.error;
        onEvent?.(event);
      },
    );
  });
}

/** The directory as an uncompressed tar stream (GNU tar; gzip would cost more than it saves on a socket). */
function tarOf(dir: string): Readable {
  const child = spawn('tar', ['--hard-dereference', '--numeric-owner', '-C', dir, '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return child.stdout;
}

/** A hard link when the file is on the same filesystem (the claude binary is 380 MB), else a copy. */
async function placeFile(src: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  await link(src, dest).catch(() => copyFile(src, dest));
}

function splitRef(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
}
