import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { ResultOf } from '../sdk/agentProtocol.js';
import { opError } from '../sdk/rpcPeer.js';
import { defineHandler, type Handlers, type ParamsFor, RESULT_BUDGET_BYTES } from './defineHandler.js';
import { fsError } from './fsError.js';
import type { WorkspaceRoot } from './workspaceRoot.js';

/** Per stream, as the protocol promises. */
const OUTPUT_CAP_BYTES = 1024 * 1024;
/**
 * After the process exits, how long to wait for its pipes to close. A background child that
 * inherited stdout would otherwise hold the answer until it exits too.
 */
const PIPE_GRACE_MS = 500;

export function execHandlers(root: WorkspaceRoot): Handlers {
  return defineHandler('exec', (params) => runCommand(root, params));
}

/** Runs argv (no shell) to completion in its own process group, which a timeout kills whole. */
export async function runCommand(
  root: WorkspaceRoot,
  { argv, cwd = '', stdin, timeoutMs }: ParamsFor<'exec'>,
): Promise<ResultOf<'exec'>> {
  const dir = await root.resolve(cwd);
  // spawn() reports a bad cwd as ENOENT of the command, so check it first for a clear error.
  if (!(await stat(dir).catch((err) => Promise.reject(fsError(err, cwd)))).isDirectory()) {
    throw opError('not_a_directory', `"${cwd}" is not a directory.`);
  }
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, {
    cwd: dir,
    detached: true,
    stdio: 'pipe',
  });
  const stdout = new CappedOutput();
  const stderr = new CappedOutput();
  child.stdout.on('data', (d: Buffer) => stdout.add(d));
  child.stderr.on('data', (d: Buffer) => stderr.add(d));
  // A program that exits without reading its input makes this write fail with EPIPE; that is fine.
  child.stdin.on('error', () => {});
  child.stdin.end(stdin);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutMs);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (exitCode, exitSignal) => {
          const grace = setTimeout(() => {
            child.stdout.destroy();
            child.stderr.destroy();
            resolve({ code: exitCode, signal: exitSignal });
          }, PIPE_GRACE_MS);
          child.once('close', () => {
            clearTimeout(grace);
            resolve({ code: exitCode, signal: exitSignal });
          });
        });
      },
    );
    const [outBudget, errBudget] = splitBudget(stdout.encodedLength(), stderr.encodedLength());
    return {
      exitCode: code,
      signal,
      stdout: stdout.text(outBudget),
      stderr: stderr.text(errBudget),
      timedOut,
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw opError(
      'spawn_failed',
      code === 'ENOENT' ? `${file}: command not found.` : `${file} could not be started (${code}).`,
    );
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Splits the room in the answer's frame between stdout and stderr. Two full 1 MiB captures do not
 * fit in one 1 MiB frame (MAX_AGENT_FRAME_BYTES), so when both are big each gets half, and a
 * small one leaves the rest to the other.
 */
function splitBudget(out: number, err: number): [number, number] {
  const total = RESULT_BUDGET_BYTES - 256; // the other result fields
  if (out + err <= total) return [out, err];
  if (out <= total / 2) return [out, total - out];
  if (err <= total / 2) return [total - err, err];
  return [total / 2, total / 2];
}

/** Keeps the first OUTPUT_CAP_BYTES of a stream and counts the rest. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;
  private decoded: string | undefined;

  add(data: Buffer): void {
    this.total += data.length;
    const room = OUTPUT_CAP_BYTES - this.kept;
    if (room <= 0) return;
    const part = data.length > room ? data.subarray(0, room) : data;
    this.chunks.push(part);
    this.kept += part.length;
  }

  /** Bytes the whole text takes as a JSON string, marker included. */
  encodedLength(): number {
    return jsonBytes(this.withMarker(this.full().length));
  }

  /** The captured text, cut further if needed so that it takes at most `budget` bytes as JSON. */
  text(budget: number): string {
    let fits = this.full().length;
    if (jsonBytes(this.withMarker(fits)) > budget) {
      // Binary search for the longest prefix that fits; JSON escaping makes the size uneven.
      let lo = 0;
      let hi = fits;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (jsonBytes(this.withMarker(mid)) <= budget) lo = mid;
        else hi = mid - 1;
      }
      fits = lo;
    }
    return this.withMarker(fits);
  }

  private full(): string {
    this.decoded ??= Buffer.concat(this.chunks, this.kept).toString('utf8');
    return this.decoded;
  }

  private withMarker(chars: number): string {
    const full = this.full();
    const text = full.slice(0, chars);
    // Counted from the bytes when nothing was cut here: invalid UTF-8 changes length when decoded.
    const dropped = chars === full.length ? this.total - this.kept : this.total - Buffer.byteLength(text);
    return dropped > 0 ? `${text}\n[output truncated: ${dropped} more bytes]\n` : text;
  }
}

function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text));
}
