// `rclaude ws cp <src> <dst>`: copy files between this machine and a workspace, like `cp -r`.
// A workspace side is `<id>:<path>`, the path relative to /workspace. Files stream both ways; a
// directory comes out as the server's tar.gz unpacked by the system tar, and goes in one file at a
// time.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { ApiError } from '../../sdk/client/apiError.js';
import type { NodeApiClient } from '../../sdk/client/nodeApiClient.js';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { CliError, usageError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { ensureRunning, resolveWorkspace } from '../resolveWorkspace.js';

type Endpoint =
  | { kind: 'local'; path: string }
  /** `path` is normalised ('' is /workspace); `intoDir` when it ended in "/" or named the root. */
  | { kind: 'remote'; ref: string; path: string; intoDir: boolean };

export function registerCp(ws: Command, ctx: CliContext): void {
  const cp = ws
    .command('cp')
    .description('copy files and directories between here and a workspace')
    .argument('<src>', 'a local path, or <id>:<path> in a workspace (relative to /workspace)')
    .argument('<dst>', 'a local path, or <id>:<path> in a workspace; "-" is standard input/output')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  rclaude ws cp notes.md 1a2b3c4d:docs/       upload a file into docs/\n' +
        '  rclaude ws cp ./fixtures 1a2b3c4d:test/     upload a directory\n' +
        '  rclaude ws cp 1a2b3c4d:dist ./dist          download a directory\n' +
        '  rclaude ws cp 1a2b3c4d:package.json -       print a file\n' +
        'A local path with a ":" in it must start with ./ or /.',
    );
  addServerOptions(cp).action(async (srcArg: string, dstArg: string, o: ServerOptions) => {
    const src = parseEndpoint(srcArg);
    const dst = parseEndpoint(dstArg);
    if (src.kind === 'remote' && dst.kind === 'local') {
      const client = ctx.client(o);
      await download(client, await runningWorkspace(client, src.ref), src, dst.path);
    } else if (src.kind === 'local' && dst.kind === 'remote') {
      const client = ctx.client(o);
      await upload(client, await runningWorkspace(client, dst.ref), src.path, dst);
    } else if (src.kind === 'remote') {
      throw usageError('copying from one workspace to another is not supported; copy through a local path');
    } else {
      throw usageError('one of <src> and <dst> must be a workspace path like <id>:src/app.ts');
    }
  });
}

type RemoteEndpoint = Extract<Endpoint, { kind: 'remote' }>;

async function runningWorkspace(client: NodeApiClient, ref: string): Promise<Workspace> {
  const w = await resolveWorkspace(client, ref);
  ensureRunning(w);
  return w;
}

/** `<id>:<path>` is a workspace path; anything else (or anything starting with . or /) is local. */
export function parseEndpoint(arg: string): Endpoint {
  const m = /^([A-Za-z0-9_-]+):(.*)$/s.exec(arg);
  if (!m) return { kind: 'local', path: arg };
  const given = m[2] as string;
  let rest = given;
  if (rest === '/workspace' || rest.startsWith('/workspace/')) rest = rest.slice('/workspace'.length);
  else if (rest.startsWith('/'))
    throw usageError(
      `workspace paths are relative to /workspace (or start with /workspace/), got "${given}"`,
    );
  const parts = rest.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw usageError(`workspace paths must stay inside /workspace, got "${given}"`);
  const path = parts.join('/');
  return { kind: 'remote', ref: m[1] as string, path, intoDir: path === '' || given.endsWith('/') };
}

function joinRemote(dir: string, name: string): string {
  return [dir, name].filter((s) => s !== '' && s !== '.').join('/');
}

/** How a failure on the workspace side reads: "workspace path src/x not found". */
function remoteError(path: string) {
  return (err: unknown): never => {
    if (err instanceof ApiError && err.status === 404 && err.code === 'not_found')
      throw new CliError(`workspace path ${path || '/workspace'} not found`);
    throw err;
  };
}

/** How a failure on this machine reads: "local path ./x not found". */
function localError(path: string) {
  return (err: unknown): never => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`local path ${path} not found`);
    if (code === 'EACCES' || code === 'EPERM') throw new CliError(`not allowed to access local path ${path}`);
    if (code === 'ENOTDIR') throw new CliError(`local path ${path} is not a directory`);
    if (code === 'EISDIR') throw new CliError(`local path ${path} is a directory`);
    throw err;
  };
}

async function isLocalDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/** Whether `path` is an existing directory in the workspace (its parent's listing says so). */
async function isRemoteDir(client: NodeApiClient, id: string, path: string): Promise<boolean> {
  if (path === '') return true;
  const parent = posix.dirname(path);
  try {
    const { entries } = await client.files.list(id, parent === '.' ? '' : parent);
    return entries.some((e) => e.name === posix.basename(path) && e.type === 'dir');
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.code === 'not_a_directory')) return false;
    throw err;
  }
}

// ---- into the workspace ----

async function upload(
  client: NodeApiClient,
  w: Workspace,
  local: string,
  dst: RemoteEndpoint,
): Promise<void> {
  if (local === '-') {
    if (dst.intoDir) throw usageError('give a file name to copy standard input to, e.g. <id>:notes.txt');
    await client.writeFile(w.id, dst.path, process.stdin).catch(remoteError(dst.path));
    return;
  }
  const st = await stat(local).catch(localError(local));
  if (!st.isFile() && !st.isDirectory()) throw new CliError(`local path ${local} is not a file or directory`);
  const into = dst.intoDir || (await isRemoteDir(client, w.id, dst.path));
  const target = into ? joinRemote(dst.path, basename(local)) : dst.path;
  if (st.isFile()) await putFile(client, w.id, local, target);
  else await putDirectory(client, w.id, local, target);
}

async function putFile(client: NodeApiClient, id: string, local: string, remote: string): Promise<void> {
  if (remote === '') throw usageError('give a file name to copy to, e.g. <id>:notes.txt');
  await client.writeFile(id, remote, createReadStream(local)).catch(remoteError(remote));
}

/** Uploads every file under `local` one by one; empty directories are made, links skipped. */
async function putDirectory(client: NodeApiClient, id: string, local: string, remote: string): Promise<void> {
  const entries = await readdir(local, { withFileTypes: true }).catch(localError(local));
  if (entries.length === 0 && remote !== '') await client.files.mkdir(id, remote).catch(remoteError(remote));
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const from = join(local, e.name);
    const to = joinRemote(remote, e.name);
    if (e.isFile()) await putFile(client, id, from, to);
    else if (e.isDirectory()) await putDirectory(client, id, from, to);
    else process.stderr.write(`rclaude: skipped ${from}: only files and directories are copied\n`);
  }
}

// ---- out of the workspace ----

async function download(
  client: NodeApiClient,
  w: Workspace,
  src: RemoteEndpoint,
  local: string,
): Promise<void> {
  const content = await client.readPath(w.id, src.path).catch(remoteError(src.path));
  const name = posix.basename(src.path) || w.name;
  if (content.type === 'file') {
    if (local === '-') return toStdout(content.body);
    let target = local;
    if (local.endsWith('/')) await mkdir(local, { recursive: true }).catch(localError(local));
    if (local.endsWith('/') || (await isLocalDir(local))) target = join(local, name);
    await writeLocalFile(content.body, target);
    return;
  }
  if (local === '-' && process.stdout.isTTY)
    throw usageError(
      `${src.path || '/workspace'} is a directory; send its tar.gz to a file or a pipe, not the terminal`,
    );
  const archive = await client.downloadArchive(w.id, src.path).catch(remoteError(src.path));
  if (local === '-') return toStdout(archive);
  const target = (await isLocalDir(local)) ? join(local, name) : local;
  await mkdir(target, { recursive: true }).catch(localError(target));
  // Entries are named as in /workspace (src/app/…): strip the directories above the one copied.
  await untar(archive, target, src.path === '' ? 0 : src.path.split('/').length);
}

/** Writes next to `target` and renames, so a broken download leaves no half file behind. */
async function writeLocalFile(body: Readable, target: string): Promise<void> {
  const temp = join(dirname(target), `.${basename(target)}.rclaude-${process.pid}.tmp`);
  try {
    await pipeline(body, createWriteStream(temp, { flags: 'wx' }));
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    localError(dirname(target))(err);
  }
}

async function toStdout(body: Readable): Promise<void> {
  for await (const chunk of body)
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
}

/** `tar -xzf - -C target`: GNU tar and bsdtar both take these flags. */
async function untar(archive: Readable, target: string, strip: number): Promise<void> {
  const tar = spawn('tar', ['-xzf', '-', '-C', target, '--no-same-owner', `--strip-components=${strip}`], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', resolve);
  });
  const fed = pipeline(archive, tar.stdin).catch((err: Error) => err);
  let code: number | null;
  try {
    code = await exited;
  } catch (err) {
    archive.destroy();
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliError('copying a directory out of a workspace needs tar; install it and try again');
    throw err;
  }
  const feedError = await fed;
  if (code !== 0)
    throw new CliError(
      `tar could not unpack the directory: ${stderr.trim().split('\n')[0] || `exit ${code}`}`,
    );
  if (feedError) throw new CliError(`the download broke off: ${feedError.message}`);
}
