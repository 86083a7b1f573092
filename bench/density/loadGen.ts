// The density bench's load generator, a child process of run.ts (its own file descriptors and CPU
// time, so the server's figures are the server's). On the parent's word it opens simulated users
// — each one event stream (SSE or WebSocket) of its own task and a GET of that task every 10 s —
// runs scripted agents that send task events through the server's real ingest, or views a bare
// `ws` broadcast; it reports API latencies and event lags (hrtime, one clock for every process).
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  AGENT_PROTOCOL_VERSION,
  AGENT_SOCKET_NAME,
  serverToAgent,
  taskMethods,
} from '../../sdk/agentProtocol.js';
import { RpcPeer } from '../../sdk/rpcPeer.js';
import { SseParser } from '../../sdk/sseParser.js';
import type { GenCommand, GenReport, SimUser } from './protocol.js';

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const API_EVERY_MS = 10_000;
const PAD = 'x'.repeat(200);
/** How long a stream may take to open before it counts as refused. */
const OPEN_TIMEOUT_MS = 20_000;

const send = (m: GenReport) => process.send?.(m);

let apiMs: number[] = [];
let lagMs: number[] = [];
let errors = 0;
/** Streams refused, or ended by the server (or a load balancer) rather than by the bench. */
let lost = 0;
let closing = false;
const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 64 });
const closers: (() => void)[] = [];

function recordLag(data: string): void {
  // `"sent":<ms>` of the bench line inside the event's payload; cheaper than a full parse.
  const i = data.indexOf('"sent":');
  if (i < 0) return;
  const sent = Number.parseFloat(data.slice(i + 7, i + 40));
  if (Number.isFinite(sent)) lagMs.push(nowMs() - sent);
}

/** A GET of the user's task every 10 s, the first at a random moment within them. */
function startCalls(base: string, u: SimUser): void {
  const headers = { authorization: `Bearer ${u.token}` };
  const url = `${base}/api/v1/tasks/${u.taskId}`;
  const call = () => {
    const t0 = nowMs();
    const req = httpRequest(url, { headers, agent: keepAlive }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) apiMs.push(nowMs() - t0);
        else errors++;
      });
    });
    req.on('error', () => errors++);
    req.end();
  };
  const first = setTimeout(() => {
    call();
    const every = setInterval(call, API_EVERY_MS);
    closers.push(() => clearInterval(every));
  }, Math.random() * API_EVERY_MS);
  closers.push(() => clearTimeout(first));
}

/** One user: the API calls, and one event stream of its task. */
function openUser(base: string, u: SimUser): Promise<void> {
  startCalls(base, u);
  const headers = { authorization: `Bearer ${u.token}` };
  const events = `/api/v1/tasks/${u.taskId}/events`;
  return u.kind === 'ws'
    ? openWs(`${base.replace('http', 'ws')}${events}`, headers)
    : openSse(`${base}${events}`, headers);
}

function openWs(url: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.on('message', (d: Buffer) => recordLag(d.toString()));
    ws.once('open', () => resolve());
    ws.on('error', () => {
      errors++;
      resolve();
    });
    ws.on('close', () => {
      if (!closing) lost++;
    });
    closers.push(() => ws.terminate());
  });
}

function openSse(url: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve) => {
    const parser = new SseParser();
    let answered = false;
    const req = httpRequest(url, { headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
      answered = true;
      if (res.statusCode !== 200) errors++;
      resolve();
      res.on('close', () => {
        if (!closing) lost++;
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const m of parser.push(chunk)) if (m.event === 'task_event') recordLag(m.data);
      });
      res.on('error', () => {});
    });
    req.on('error', () => {
      errors++;
      // Refused before any answer (an answer's end is counted by its 'close' above).
      if (!closing && !answered) lost++;
      resolve();
    });
    req.end();
    closers.push(() => req.destroy());
  });
}

/** Opens `users` at most `perSecond` a second; resolves once all answered. */
async function openUsers(base: string, users: SimUser[], perSecond: number): Promise<void> {
  const started: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < users.length; i++) {
    const due = t0 + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // A server too busy to answer must not hold the bench: a stream not open in time is an error.
    let opened = false;
    const open = openUser(base, users[i] as SimUser).then(() => {
      opened = true;
    });
    const late = new Promise<void>((r) => setTimeout(r, OPEN_TIMEOUT_MS).unref()).then(() => {
      if (!opened) errors++;
    });
    started.push(Promise.race([open, late]));
  }
  await Promise.all(started);
}

/** Scripted agents: each task of `tasks` gets `rate` events a second through its agent. */
const agents = new Map<string, { peer: RpcPeer; tasks: Map<string, number> }>();
let emitting: NodeJS.Timeout | undefined;

async function connectAgent(o: { dir: string; token: string; workspaceId: string; taskIds: string[] }) {
  const ws = new WebSocket(`ws+unix://${join(o.dir, AGENT_SOCKET_NAME)}:/agent?v=${AGENT_PROTOCOL_VERSION}`, {
    headers: { authorization: `Bearer ${o.token}`, 'x-rc-workspace': o.workspaceId },
  });
  const tasks = new Map<string, number>();
  const peer = new RpcPeer(ws, {
    parity: 'odd',
    handlers: {
      // Its tasks run: the server must not fail them as lost when the agent connects.
      'task.list': {
        params: taskMethods['task.list'].params,
        handle: async () => ({ tasks: o.taskIds.map((taskId) => ({ taskId, running: true, lastSeq: 0 })) }),
      },
      'pty.list': { params: serverToAgent['pty.list'].params, handle: async () => ({ terminals: [] }) },
    },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  agents.set(o.workspaceId, { peer, tasks });
}

function startEmitting(active: { workspaceId: string; taskId: string }[], rate: number): void {
  for (const a of active) {
    const agent = agents.get(a.workspaceId);
    if (agent && !agent.tasks.has(a.taskId)) agent.tasks.set(a.taskId, 0);
  }
  if (emitting) return;
  // Every task's events spread evenly: each 20 ms tick sends the ones due by then.
  const t0 = performance.now();
  let ticks = 0;
  const all = () => [...agents.values()].flatMap((ag) => [...ag.tasks.keys()].map((id) => ({ ag, id })));
  let order = all();
  let emitted = 0;
  emitting = setInterval(() => {
    ticks++;
    if (ticks % 50 === 0) order = all();
    const due = Math.floor(((performance.now() - t0) / 1000) * rate * order.length);
    while (emitted < due && order.length > 0) {
      const { ag, id } = order[emitted % order.length] as (typeof order)[number];
      const seq = (ag.tasks.get(id) ?? 0) + 1;
      ag.tasks.set(id, seq);
      const line = `{"type":"stream_event","event":{"type":"rc_bench","sent":${nowMs()}},"pad":"${PAD}"}`;
      ag.peer.notify('task.event', { taskId: id, seq, line });
      emitted++;
    }
    if (emitted > due + order.length) emitted = due;
  }, 20);
}

process.on('message', (m: GenCommand) => {
  void (async () => {
    try {
      if (m.kind === 'users') {
        await openUsers(m.base, m.users, m.perSecond);
        send({ kind: 'ok', id: m.id });
      } else if (m.kind === 'agent') {
        await connectAgent(m);
        send({ kind: 'ok', id: m.id });
      } else if (m.kind === 'emit') {
        startEmitting(m.active, m.rate);
        send({ kind: 'ok', id: m.id });
      } else if (m.kind === 'apiOnly') {
        // The baseline: the same calls from the same users, with no stream open.
        for (const u of m.users) startCalls(m.base, u);
        send({ kind: 'ok', id: m.id });
      } else if (m.kind === 'bare') {
        await Promise.all(Array.from({ length: m.viewers }, () => openWs(m.url, {})));
        send({ kind: 'ok', id: m.id });
      } else if (m.kind === 'reset') {
        apiMs = [];
        lagMs = [];
        errors = 0;
        send({ kind: 'ok', id: m.id });
      } else if (m.kind === 'collect') {
        send({ kind: 'samples', id: m.id, apiMs, lagMs, errors, lost });
        apiMs = [];
        lagMs = [];
        errors = 0;
        lost = 0;
      } else if (m.kind === 'close') {
        closing = true;
        clearInterval(emitting);
        emitting = undefined;
        for (const c of closers.splice(0)) c();
        for (const a of agents.values()) a.peer.close(1000, 'bench over');
        agents.clear();
        // Streams opened after this (the bare baseline) are the bench's own again.
        setTimeout(() => {
          closing = false;
        }, 1000);
        send({ kind: 'ok', id: m.id });
      }
    } catch (err) {
      send({ kind: 'error', id: m.id, message: (err as Error).message });
    }
  })();
});
send({ kind: 'ready' });
