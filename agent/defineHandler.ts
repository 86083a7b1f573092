import type { z } from 'zod';
import {
  MAX_AGENT_FRAME_BYTES,
  type ResultOf,
  type ServerToAgentMethod,
  serverToAgent,
} from '../sdk/agentProtocol.js';
import { opError, type RpcHandler } from '../sdk/rpcPeer.js';

export type Handlers = Record<string, RpcHandler>;
export type ParamsFor<M extends ServerToAgentMethod> = z.output<(typeof serverToAgent)[M]['params']>;

/**
 * One entry of a handler map, typed from the protocol: `handle` gets the params after the schema
 * in sdk/agentProtocol.ts parsed them (defaults applied) and must return that method's result.
 */
export function defineHandler<M extends ServerToAgentMethod>(
  method: M,
  handle: (params: ParamsFor<M>) => Promise<ResultOf<M>>,
): Record<M, RpcHandler> {
  const entry: RpcHandler = {
    params: serverToAgent[method].params,
    handle: async (params: ParamsFor<M>) => ensureFits(method, await handle(params)),
  };
  return { [method]: entry } as Record<M, RpcHandler>;
}

/** Room left in a frame for the JSON-RPC envelope around a result. */
export const RESULT_BUDGET_BYTES = MAX_AGENT_FRAME_BYTES - 1024;

/**
 * A result bigger than a frame would make the server close the whole connection (1009), and the
 * same request would do it again after the reconnect; answering an error keeps the link up.
 */
function ensureFits<T>(method: string, result: T): T {
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes > RESULT_BUDGET_BYTES) {
    throw opError(
      'too_large',
      `The answer to ${method} would be ${bytes} bytes, more than one message can carry.`,
    );
  }
  return result;
}
