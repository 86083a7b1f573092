// Test support for agent/tasks/*.test.ts: the real agent bundle (agent/agentHarness.ts) whose
// model forwarder's tunnels lead to the scripted model stub, so the real Claude Code CLI talks to
// the stub through exactly the path it takes in a workspace.
import net from 'node:net';
import { agentToServer, WORKSPACE_API_KEY_PLACEHOLDER } from '../../sdk/agentProtocol.js';
import type { RpcHandler, RpcPeer } from '../../sdk/rpcPeer.js';
import { claudeBinary } from '../../test/support/claudeBinary.js';
import { type ModelStub, type Scenario, startModelStub } from '../../test/support/modelStub.js';
import { TestAgent, type TestAgentOptions, type TestConnection } from '../agentHarness.js';

export interface TaskEvent {
  taskId: string;
  seq: number;
  line: string;
}

/** A parsed event line, loosely typed: tests look at a few fields of Claude Code's messages. */
export type Message = { type?: string; subtype?: string; [key: string]: unknown };

export function parse(event: TaskEvent): Message {
  return JSON.parse(event.line) as Message;
}

export async function startStub(scenarios: Record<string, Scenario>): Promise<ModelStub> {
  return startModelStub({ scenarios, expectedApiKey: WORKSPACE_API_KEY_PLACEHOLDER });
}

/** The stub control plane's end of the model tunnels: each one a TCP connection to the stub. */
export function modelTunnels(stub: () => ModelStub): (peer: RpcPeer) => Record<string, RpcHandler> {
  return (peer) => ({
    'tunnel.open': {
      params: agentToServer['tunnel.open'].params,
      handle: async ({ channel, target }: { channel: number; target: string }) => {
        if (target !== 'model') throw new Error(`unexpected tunnel to ${target}`);
        const ch = peer.channel(channel);
        const socket = net.connect(stub().port, '127.0.0.1');
        ch.pipe(socket);
        socket.pipe(ch);
        socket.on('error', () => ch.destroy());
        ch.on('error', () => socket.destroy());
        ch.on('close', () => socket.destroy());
        return {};
      },
    },
  });
}

/** Starts the agent with the real claude binary and the model forwarder on a free port. */
export function startTaskAgent(
  entry: string,
  stub: () => ModelStub,
  options: Partial<TestAgentOptions> = {},
): Promise<TestAgent> {
  return TestAgent.start({
    entry,
    handlers: modelTunnels(stub),
    ...options,
    env: {
      RC_CLAUDE_PATH: claudeBinary(),
      RC_AGENT_MODEL_PORT: '0',
      ...options.env,
    },
  });
}

/** Every `task.event` of `taskId` received on `conn` so far, in arrival order. */
export function eventsOf(conn: TestConnection, taskId: string): TaskEvent[] {
  return conn.notifications
    .filter((n) => n.method === 'task.event' && (n.params as TaskEvent).taskId === taskId)
    .map((n) => n.params as TaskEvent);
}

/** The first (already received or next) event of `taskId` whose parsed line passes `accept`. */
export function nextEvent(
  conn: TestConnection,
  taskId: string,
  accept: (message: Message, event: TaskEvent) => boolean,
  timeoutMs = 30_000,
): Promise<TaskEvent> {
  return conn.notification<TaskEvent>(
    'task.event',
    (e) => e.taskId === taskId && accept(tryParse(e.line), e),
    timeoutMs,
  );
}

function tryParse(line: string): Message {
  try {
    return JSON.parse(line) as Message;
  } catch {
    return {};
  }
}

/** Acknowledges every event `conn` has received so far for `taskId`, as the server does once stored. */
export function ackAll(conn: TestConnection, taskId: string): number {
  const seq = Math.max(0, ...eventsOf(conn, taskId).map((e) => e.seq));
  conn.peer.notify('task.ack', { taskId, seq });
  return seq;
}

/** Seqs in arrival order. */
export function seqs(events: TaskEvent[]): number[] {
  return events.map((e) => e.seq);
}

/** 1..n */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
