// The session routers the replica tests stand behind: real HAProxy and real nginx, round-robin
// over loopback backends, WebSocket upgrades passed through, SSE not buffered, a dead backend
// skipped, and (HAProxy's active checks) a backend whose /readyz fails taken out.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type LoadBalancer, type LoadBalancerKind, routedTo, startLoadBalancer } from './loadBalancer.js';

interface Replica {
  name: string;
  address: string;
  ready: boolean;
  close(): Promise<void>;
}

async function startReplica(name: string): Promise<Replica> {
  const replica = { name, address: '', ready: true } as Replica;
  const server = http.createServer((req, res) => {
    if (req.url === '/readyz') {
      res.writeHead(replica.ready ? 200 : 503).end();
      return;
    }
    if (req.url === '/sse') {
      // One event now, the next a second later: a buffering router would hold the first back.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${name}-1\n\n`);
      const timer = setTimeout(() => res.end(`data: ${name}-2\n\n`), 1000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => socket.send(`${name}:${data.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  replica.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  replica.close = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return replica;
}

/** One request on a fresh connection, so each is balanced on its own. */
const who = async (lb: LoadBalancer) =>
  (await fetch(`${lb.url}/who`, { headers: { connection: 'close' } })).text();

const kinds: LoadBalancerKind[] = ['haproxy', 'nginx'];

describe.each(kinds)('the %s session router in front of replicas', (kind) => {
  let a: Replica;
  let b: Replica;
  let lb: LoadBalancer;
  beforeAll(async () => {
    a = await startReplica('a');
    b = await startReplica('b');
    lb = await startLoadBalancer(
      [
        { name: 'a', address: a.address },
        { name: 'b', address: b.address },
      ],
      { kind },
    );
  });
  afterAll(async () => {
    await lb?.close();
    await a?.close();
    await b?.close();
  });

  it('sends requests round-robin, with no stickiness', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await who(lb));
    expect(new Set(seen)).toEqual(new Set(['a', 'b']));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
  });

  it('passes WebSocket upgrades through and keeps an idle one open', async () => {
    const socket = new WebSocket(lb.url.replace('http', 'ws'));
    const replies: string[] = [];
    socket.on('message', (d: Buffer) => replies.push(d.toString()));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send('one');
    await new Promise((r) => setTimeout(r, 1500));
    socket.send('two');
    await new Promise((r) => setTimeout(r, 200));
    socket.close();
    expect(replies).toHaveLength(2);
    expect(replies[0]).toMatch(/^[ab]:one$/);
    expect(replies[1]?.split(':')[0]).toBe(replies[0]?.split(':')[0]);
  });

  it('logs which backend each request and WebSocket went to (HAProxy; nginx logs none)', async () => {
    const socket = new WebSocket(`${lb.url.replace('http', 'ws')}/routed?n=1`);
    const reply = new Promise<string>((resolve) =>
      socket.once('message', (d: Buffer) => resolve(d.toString())),
    );
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send('x');
    const backend = (await reply).split(':')[0];
    // Logged once the upgrade is answered, while the socket is still open.
    await new Promise((r) => setTimeout(r, 200));
    const routed = routedTo(lb.output(), '/routed');
    socket.close();
    expect(routed).toEqual(kind === 'haproxy' ? [{ backend, status: 101, path: '/routed?n=1' }] : []);
    expect(routedTo(lb.output(), '/nothing-like-it')).toEqual([]);
  });

  it('streams SSE event by event, unbuffered', async () => {
    const res = await fetch(`${lb.url}/sse`, { headers: { connection: 'close' } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const started = Date.now();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^data: [ab]-1/);
    // Well before the second event (1 s later) and the end of the response.
    expect(Date.now() - started).toBeLessThan(800);
    await reader.cancel();
  });

  it('sends nothing to a backend that refuses connections (a killed replica)', async () => {
    const dead = await startReplica('dead');
    const address = dead.address;
    await dead.close();
    const withDead = await startLoadBalancer(
      [
        { name: 'a', address: a.address },
        { name: 'dead', address },
      ],
      { kind },
    );
    try {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) seen.push(await who(withDead));
      expect(seen).toEqual(['a', 'a', 'a', 'a', 'a', 'a']);
    } finally {
      await withDead.close();
    }
  });

  it.runIf(kind === 'haproxy')(
    'takes a backend whose /readyz fails out of the rotation within two seconds',
    async () => {
      b.ready = false;
      try {
        await new Promise((r) => setTimeout(r, 2000));
        const seen: string[] = [];
        for (let i = 0; i < 6; i++) seen.push(await who(lb));
        expect(seen).toEqual(['a', 'a', 'a', 'a', 'a', 'a']);
      } finally {
        b.ready = true;
      }
    },
  );
});
