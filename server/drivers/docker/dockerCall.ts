// Every Docker API call of the driver goes through `dockerCall`: it carries a deadline (a Docker
// daemon that hangs must not hang a workspace start or the reconcile loop) and turns dockerode's
// errors into DriverErrors whose message a user understands.
import { DriverError, type DriverErrorReason } from '../runtimeDriver.js';

/** What the call was for, to word its failure. */
export interface CallContext {
  /** Node name from the config. */
  node: string;
  /** Where its daemon is reached ("unix:///var/run/docker.sock", "tcp://h:2376", "ssh://u@h"). */
  endpoint: string;
  /** The workspace image, for "image missing". */
  image?: string;
}

/** The shape of dockerode's errors: HTTP ones carry statusCode and json, socket ones a code. */
interface DockerodeError {
  statusCode?: number;
  json?: { message?: string } | null;
  code?: string;
  name?: string;
  message?: string;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/**
 * Runs `fn` with an AbortSignal that fires after `ms`, and gives up on it at that point even if
 * the library ignores the signal.
 * @throws DriverError from `dockerError` for every failure, the deadline included.
 */
export async function dockerCall<T>(
  ctx: CallContext,
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new DeadlineExceeded(ms));
    }, ms);
  });
  const work = fn(abort.signal);
  // After the deadline the call still settles (usually as an AbortError); nobody listens then.
  work.catch(() => {});
  try {
    return await Promise.race([work, deadline]);
  } catch (err) {
    throw dockerError(err, ctx);
  } finally {
    clearTimeout(timer);
  }
}

/** The daemon's own words for an HTTP error, else the library's. */
export function dockerMessage(err: unknown): string {
  const e = err as DockerodeError;
  const text = e?.json?.message ?? e?.message ?? String(err);
  return text.trim().replace(/^\(HTTP code \d+\)\s*/, '');
}

export function statusOf(err: unknown): number | undefined {
  const e = err instanceof DriverError ? (err.cause as DockerodeError) : (err as DockerodeError);
  return e?.statusCode;
}

/** Whether the daemon answered "no such …" (a missing container or volume, not a dead daemon). */
export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

/** Maps a dockerode failure onto a DriverError with a sentence for the workspace's statusReason. */
export function dockerError(err: unknown, ctx: CallContext): DriverError {
  if (err instanceof DriverError) return err;
  const e = (err ?? {}) as DockerodeError;
  const message = dockerMessage(err);
  const make = (reason: DriverErrorReason, userMessage: string) =>
    new DriverError({ reason, userMessage, cause: err });
  if (
    err instanceof DeadlineExceeded ||
    e.name === 'AbortError' ||
    (e.code !== undefined && CONNECTION_CODES.has(e.code)) ||
    (e.statusCode === undefined && /socket hang up|connect|handshake|authentication/i.test(message))
  ) {
    const why = err instanceof DeadlineExceeded ? err.message : (e.code ?? message);
    return make(
      'unavailable',
      `The Docker daemon on node ${ctx.node} does not answer at ${ctx.endpoint} (${why}).`,
    );
  }
  if (/no space left on device/i.test(message)) {
    return make(
      'insufficient_resources',
      `Node ${ctx.node} is out of disk space; free space on its Docker data root (${message}).`,
    );
  }
  if (e.statusCode === 404 && /no such image|pull access denied|not found: manifest/i.test(message)) {
    return make(
      'unavailable',
      `The workspace image ${ctx.image ?? '(unknown)'} is not on host ${ctx.node}; build it there with \`rclaude image build\` or pull it.`,
    );
  }
  if (e.statusCode === 400) {
    return make('invalid_spec', `Docker on node ${ctx.node} refused the workspace's settings: ${message}.`);
  }
  if (e.statusCode === 404) return make('not_found', `Docker on node ${ctx.node}: ${message}.`);
  return make('internal', `Docker on node ${ctx.node} failed: ${message}.`);
}
