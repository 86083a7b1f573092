import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentToServer } from '../sdk/agentProtocol.js';
import type { RpcPeer } from '../sdk/rpcPeer.js';
import { buildAgent, TestAgent } from './agentHarness.js';

let bundle: Awaited<ReturnType<typeof buildAgent>>;
let agent: TestAgent;
let port: number;
let modelPort: number;
const tunnels: number[] = [];
const targets: string[] = [];

/** The stub control plane's egress end: echoes every tunnel's bytes back and ends with it. */
function echoTunnels(peer: RpcPeer) {
  return {
    'tunnel.open': {
      params: agentToServer['tunnel.open'].params,
      handle: async (params: { channel: number; target: string }) => {
        tunnels.push(params.channel);
        targets.push(params.target);
        const ch = peer.channel(params.channel);
        ch.pipe(ch);
        return {};
      },
    },
  };
}

beforeAll(async () => {
  bundle = await buildAgent();
  agent = await TestAgent.start({ entry: bundle.entry, handlers: echoTunnels });
  port = Number((await agent.log(/forwarder\.listening target=egress/)).match(/port=(\d+)/)?.[1]);
  modelPort = Number((await agent.log(/forwarder\.listening target=model/)).match(/port=(\d+)/)?.[1]);
  await agent.controlPlane.connection();
});
afterAll(async () => {
  await agent?.stop();
  await bundle?.remove();
});

/** Connects, sends `data`, half-closes, and resolves with everything received until close. */
function roundTrip(data: Buffer, to = port): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(to, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.end(data);
  });
}

describe('forwarder', () => {
  it('relays a TCP connection through a tunnel channel, both ways', async () => {
    expect((await roundTrip(Buffer.from('CONNECT example.com:443 HTTP/1.1\r\n\r\n'))).toString()).toBe(
      'CONNECT example.com:443 HTTP/1.1\r\n\r\n',
    );
    expect(tunnels.length).toBe(1);
    expect(tunnels[0] && tunnels[0] % 2).toBe(1); // the agent allocates odd channel ids
    expect(targets).toEqual(['egress']);
  });

  it('relays the model forwarder (ANTHROPIC_BASE_URL) through tunnels to the model target', async () => {
    const request = Buffer.from('POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect((await roundTrip(request, modelPort)).equals(request)).toBe(true);
    expect(targets.at(-1)).toBe('model');
  });

  it('relays a few MiB intact, several connections at once', async () => {
    const payloads = [1, 2, 3].map((n) => Buffer.alloc(n * 1024 * 1024 + 17, n));
    const echoed = await Promise.all(payloads.map((p) => roundTrip(p)));
    expect(echoed.map((e, i) => e.equals(payloads[i] as Buffer))).toEqual([true, true, true]);
  });

  it('answers 503 while the control plane is unreachable', async () => {
    await agent.controlPlane.close();
    await agent.log(/agent\.disconnected/);
    for (const to of [port, modelPort]) {
      const answer = (
        await roundTrip(Buffer.from('GET http://example.com/ HTTP/1.1\r\n\r\n'), to)
      ).toString();
      expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
      expect(answer).toContain('not connected to the control plane');
    }
  });
});
