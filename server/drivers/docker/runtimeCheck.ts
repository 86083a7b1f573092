// runtime.docker.runtime names an OCI runtime that each node's daemon must have registered
// (daemon.json "runtimes"). Docker refuses an unknown one at container create with a bare
// "Unknown runtime specified x"; this turns that into a sentence naming the runtimes the daemon has.
import { DriverError } from '../runtimeDriver.js';
import { dockerMessage, statusOf } from './dockerCall.js';
import type { DockerNode } from './dockerNodes.js';

/** dockerode takes an abortSignal on info; its type definitions do not say so. */
type InfoCall = { info(opts: { abortSignal: AbortSignal }): Promise<{ Runtimes?: Record<string, unknown> }> };

/**
 * The DriverError for a create that `node` refused because it has no runtime `runtime`, or
 * undefined when `err` is another failure.
 */
export async function unknownRuntimeError(
  err: unknown,
  node: DockerNode,
  runtime: string | undefined,
): Promise<DriverError | undefined> {
  if (!runtime || statusOf(err) !== 400) return undefined;
  const cause = err instanceof DriverError ? err.cause : err;
  if (!/unknown runtime/i.test(dockerMessage(cause))) return undefined;
  const info = await node
    .call((d, abortSignal) => (d as unknown as InfoCall).info({ abortSignal }))
    .catch(() => undefined);
  const known = Object.keys(info?.Runtimes ?? {}).sort();
  const has = known.length ? `it has ${known.join(', ')}` : 'its runtimes could not be listed';
  return new DriverError({
    reason: 'invalid_spec',
    userMessage: `Docker on node ${node.name} has no runtime "${runtime}" (runtime.docker.runtime); ${has}. Register it in that daemon's daemon.json ("runtimes") and reload the daemon, or change runtime.docker.runtime.`,
    cause,
  });
}
