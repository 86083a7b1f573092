import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION, notifications } from '../sdk/agentProtocol.js';
import { buildAgent, TEST_TOKEN, TEST_WORKSPACE_ID, TestAgent } from './agentHarness.js';

let bundle: Awaited<ReturnType<typeof buildAgent>>;
const agents: TestAgent[] = [];

beforeAll(async () => {
  bundle = await buildAgent();
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await bundle.remove();
});

async function startAgent(options: Partial<Parameters<typeof TestAgent.start>[0]> = {}): Promise<TestAgent> {
  const agent = await TestAgent.start({ entry: bundle.entry, ...options });
  agents.push(agent);
  return agent;
}

describe('agent connection', () => {
  it('dials with the token, the workspace id and the protocol version', async () => {
    const agent = await startAgent();
    const conn = await agent.controlPlane.connection();
    expect(conn.request.url).toBe(`/agent?v=${AGENT_PROTOCOL_VERSION}`);
    expect(conn.request.headers.authorization).toBe(`Bearer ${TEST_TOKEN}`);
    expect(conn.request.headers['x-rc-workspace']).toBe(TEST_WORKSPACE_ID);
    await agent.log(/agent\.connected/);
    expect(agent.logs.join('\n')).not.toContain(TEST_TOKEN);
  });

  it('keeps the token from the programs it starts', async () => {
    const agent = await startAgent();
    const conn = await agent.controlPlane.connection();
    const result = await conn.peer.request<{ stdout: string }>('exec', { argv: ['env'] });
    expect(result.stdout).toContain('RC_WORKSPACE_ID=');
    expect(result.stdout).not.toContain('RC_AGENT_TOKEN');
    expect(result.stdout).not.toContain(TEST_TOKEN);
  });

  it('sends heartbeats with workspace-wide usage', async () => {
    const agent = await startAgent({ env: { RC_AGENT_HEARTBEAT_MS: '100' } });
    await writeFile(path.join(agent.workspace, 'data.bin'), Buffer.alloc(200_000, 1));
    const conn = await agent.controlPlane.connection();
    const first = await conn.notification('agent.heartbeat');
    expect(notifications['agent.heartbeat'].safeParse(first).success).toBe(true);
    // The first disk walk runs in the background; a later beat carries its result.
    const beat = await conn.notification<{ diskBytes: number }>('agent.heartbeat', (p) => p.diskBytes > 0);
    const usage = notifications['agent.heartbeat'].parse(beat);
    expect(usage.diskBytes).toBeGreaterThanOrEqual(200_000);
    expect(usage.memoryBytes).toBeGreaterThan(20 * 1024 * 1024); // at least the agent itself
    expect(usage.processes).toBeGreaterThanOrEqual(1);
    // Tick granularity (10 ms) over a 100 ms period blurs it, hence the slack.
    expect(usage.cpuPercent).toBeLessThanOrEqual(150 * os.cpus().length);
    expect(usage.uptimeSeconds).toBeLessThan(60);
    // Beats keep coming at the configured period.
    const count = conn.notifications.filter((n) => n.method === 'agent.heartbeat').length;
    await conn.notification(
      'agent.heartbeat',
      () => conn.notifications.filter((n) => n.method === 'agent.heartbeat').length >= count + 2,
    );
  });

  it('reconnects after the control plane drops the connection', async () => {
    const agent = await startAgent();
    const first = await agent.controlPlane.connection(0);
    first.peer.close(1012, 'restarting');
    const second = await agent.controlPlane.connection(1, 5000);
    await second.notification('agent.heartbeat');
    // An abrupt drop (no close frame) too.
    second.peer.ws.terminate();
    await agent.controlPlane.connection(2, 5000);
    await agent.log(/agent\.disconnected .*retryInMs=/);
  });

  it('keeps retrying when the control plane refuses it (401), and connects once accepted', async () => {
    let refusals = 1;
    const agent = await startAgent({ refuse: () => (refusals-- > 0 ? 401 : undefined) });
    const line = await agent.log(/agent\.refused/);
    expect(line).toContain('status=401');
    expect(line).toContain('agent token not accepted');
    await agent.controlPlane.connection(0, 8000);
  });

  it('dials the bound unix socket when RC_AGENT_URL is not set', async () => {
    const agent = await startAgent({ env: { RC_AGENT_URL: undefined } });
    await agent.log(/agent\.connecting url=ws\+unix:\/\/\/run\/remote-claude\/agent\.sock:\/agent/);
    // Nothing listens there on this host: it keeps trying rather than exiting.
    await agent.log(/agent\.connect_failed .*retryInMs=/);
  });

  it('stops with exit code 2 and names the variable when the environment is bad', async () => {
    const agent = await startAgent({ env: { RC_AGENT_TOKEN: 'short', RC_AGENT_URL: 'http://nope' } });
    const [code] = await agent.exited;
    expect(code).toBe(2);
    const output = agent.logs.join('\n');
    expect(output).toContain('RC_AGENT_TOKEN');
    expect(output).toContain('RC_AGENT_URL: must be a ws://');
    expect(output).not.toContain('short');
  });
});
