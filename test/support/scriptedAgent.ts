// An agent the test drives by hand, for server tests that need exact control over what the agent
// sends and when (heartbeats against a ManualClock, terminals that idle): it dials the workspace's
// real agent socket (or the network endpoint) with a real token and speaks the real protocol
// through RpcPeer, but runs no box. Tests of the real agent are agent/*.test.ts and test/workspaces/*.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION, AGENT_SOCKET_NAME, serverToAgent } from '../../sdk/agentProtocol.js';
import { type RpcHandler, RpcPeer } from '../../sdk/rpcPeer.js';
import { type AgentConnection, type AgentHub, hashAgentToken } from '../../server/workspaces/agentHub.js';
import type { TestApp } from './testApp.js';

export class ScriptedAgent {
  private constructor(
    private readonly hub: AgentHub,
    readonly workspaceId: string,
    readonly peer: RpcPeer,
    /** The server's side of this agent's connection. */
    readonly conn: AgentConnection,
    /** Terminal ids the server asked to close, in order. */
    readonly closedTerminals: string[],
  ) {}

  /**
   * Listens for `workspaceId`'s agent (the row must exist), gives the row a fresh agent token and
   * connects with it — to the unix socket, or to `networkUrl` (the app's `/api/v1/agent`) when
   * given; resolves once the server has accepted the connection. `handlers` answer further
   * requests (or replace the built-in pty ones).
   */
  static async connect(
    t: TestApp,
    workspaceId: string,
    opts: { networkUrl?: string; handlers?: Record<string, RpcHandler> } = {},
  ): Promise<ScriptedAgent> {
    const hub = t.services.runtime.hub;
    const token = randomBytes(32).toString('base64url');
    await t.services.workspaces.update(workspaceId, { agent_token_hash: hashAgentToken(token) });
    const dir = await hub.listen(workspaceId);
    const url = opts.networkUrl ?? (dir && `ws+unix://${join(dir, AGENT_SOCKET_NAME)}:/agent`);
    if (!url) throw new Error('the hub has no unix socket for this workspace: pass networkUrl');
    const accepted = hub.waitForAgent(workspaceId, 5000);
    const ws = new WebSocket(`${url}?v=${AGENT_PROTOCOL_VERSION}`, {
      headers: { authorization: `Bearer ${token}`, 'x-rc-workspace': workspaceId },
    });
    const closedTerminals: string[] = [];
    const handlers = {
      'pty.list': { params: serverToAgent['pty.list'].params, handle: async () => ({ terminals: [] }) },
      'pty.open': { params: serverToAgent['pty.open'].params, handle: async () => ({ pid: 1 }) },
      'pty.close': {
        params: serverToAgent['pty.close'].params,
        handle: async (p: { terminalId: string }) => {
          closedTerminals.push(p.terminalId);
          return {};
        },
      },
    } satisfies Record<string, RpcHandler>;
    const peer = new RpcPeer(ws, { parity: 'odd', handlers: { ...handlers, ...opts.handlers } });
    const [conn] = await Promise.all([accepted, once(ws, 'open')]);
    return new ScriptedAgent(hub, workspaceId, peer, conn, closedTerminals);
  }

  /** Sends one heartbeat; resolves once the server has taken it in. */
  async beat(): Promise<void> {
    const hub = this.hub;
    const taken = new Promise<void>((resolve) => {
      const on = (id: string) => {
        if (id !== this.workspaceId) return;
        hub.off('heartbeat', on);
        resolve();
      };
      hub.on('heartbeat', on);
    });
    this.peer.notify('agent.heartbeat', {
      cpuPercent: 1,
      memoryBytes: 1 << 20,
      diskBytes: 1 << 20,
      processes: 1,
      uptimeSeconds: 1,
    });
    await taken;
  }

  /**
   * Sends a notification the hub passes on as `notification` (anything but a heartbeat);
   * resolves once the hub's listeners have run.
   */
  async notify(method: string, params: unknown): Promise<void> {
    const hub = this.hub;
    const taken = new Promise<void>((resolve) => {
      const on = (id: string, m: string) => {
        if (id !== this.workspaceId || m !== method) return;
        hub.off('notification', on);
        resolve();
      };
      hub.on('notification', on);
    });
    this.peer.notify(method, params);
    await taken;
  }

  close(): void {
    this.peer.close(1000, 'test over');
  }
}
