// Bad input on the agent channel: wrong token or protocol version is refused and audited; a
// malformed or oversized frame closes that agent's connection only.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION } from '../../sdk/agentProtocol.js';
import { hashAgentToken } from '../../server/workspaces/agentHub.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

describe('agent channel bad input', () => {
  let k: WorkspaceKit;
  let a: string;
  let b: string;
  beforeAll(async () => {
    k = await startWorkspaceKit();
    a = (await k.create(k.repo('app'))).id;
    b = (await k.create(k.repo('other'))).id;
    expect((await k.settle(a)).status).toBe('running');
    expect((await k.settle(b)).status).toBe('running');
  });
  afterAll(async () => {
    await k?.close();
  });

  const socket = (id: string) => join(k.t.config.dataDir, 'run', id, 'agent.sock');
  const dial = (id: string, token: string, version = AGENT_PROTOCOL_VERSION) =>
    new WebSocket(`ws+unix://${socket(id)}:/agent?v=${version}`, {
      headers: { authorization: `Bearer ${token}`, 'x-rc-workspace': id },
    });
  const refusal = (ws: WebSocket) =>
    new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_r, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
  const audited = async (reason: string) => {
    const { rows } = await k.t.services.auditStore.query({ action: 'agent.connect', limit: 50 } as never);
    return rows.filter(
      (r) => r.target_id === a && r.result === 'denied' && (r.detail ?? '').includes(reason),
    );
  };

  it('refuses a wrong token with 401 and audits it', async () => {
    expect(await refusal(dial(a, 'x'.repeat(43)))).toBe(401);
    expect((await audited('bad_token')).length).toBeGreaterThan(0);
  });

  it('refuses an unknown protocol version with 426 and audits it', async () => {
    expect(await refusal(dial(a, 'x'.repeat(43), 99))).toBe(426);
    expect((await audited('protocol_version')).length).toBeGreaterThan(0);
  });

  for (const [what, frame, code] of [
    ['malformed JSON', 'not json', 1008],
    ['a non-JSON-RPC message', JSON.stringify({ hello: 'world' }), 1008],
    ['a too-short binary frame', Buffer.from([1, 2]), 1008],
    ['an oversized frame', Buffer.alloc(1024 * 1024 + 10), 1009],
  ] as const) {
    it(`${what} closes that agent's connection only`, async () => {
      const token = 'y'.repeat(43);
      await k.t.services.workspaces.update(a, { agent_token_hash: hashAgentToken(token) });
      const ws = dial(a, token);
      await new Promise((r) => ws.once('open', r));
      const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
      ws.send(frame);
      expect(await closed).toBe(code);
      // The other workspace's agent is untouched and still answers.
      expect((await k.exec(b, ['echo', 'still-here'])).stdout).toBe('still-here\n');
    });
  }
});
