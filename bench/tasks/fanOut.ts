// One event stream at a fixed rate to many WebSocket viewers (the viewers run in viewerWorker.ts),
// and the baseline it is measured against: a bare `ws` server that broadcasts each event.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { WebSocketServer } from 'ws';
import { nowMs, type ViewerJob, type ViewerMessage, type ViewerResult } from './viewerWorker.js';

export interface FanOutOptions {
  /** The viewers' WebSocket URL and headers. */
  url: string;
  /** Spread the viewers round-robin over these URLs instead (one per replica). */
  urls?: string[];
  headers: Record<string, string>;
  viewers: number;
  /** Events per second, for `seconds`. */
  rate: number;
  seconds: number;
  /** Hands one stream-json line with seq `seq` to the server under test. */
  emit(seq: number, line: string): void;
}

const WARM_SEQ = 1;
// About the size of a streamed content_block_delta line of Claude Code.
const PAD = 'x'.repeat(200);
const WAIT_MS = 30_000;
/** How long after the last event the viewers may take to get everything. */
const DRAIN_MS = 10_000;

/** A stream-json line carrying its send time, which the viewers read back. */
export function benchLine(): string {
  return `{"type":"stream_event","event":{"type":"rc_bench","sent":${nowMs()}},"pad":"${PAD}"}`;
}

/** Connects the viewers, sends one warm-up event, then `rate × seconds` timed events, paced. */
export async function measureFanOut(o: FanOutOptions): Promise<ViewerResult & { sent: number }> {
  const total = o.rate * o.seconds;
  const job: ViewerJob = {
    url: o.url,
    ...(o.urls ? { urls: o.urls } : {}),
    headers: o.headers,
    viewers: o.viewers,
    warmSeq: WARM_SEQ,
    lastSeq: WARM_SEQ + total,
  };
  const worker = new Worker(new URL('./viewerWorker.js', import.meta.url), { workerData: job });
  const arrived = new Map<string, ViewerMessage>();
  const waiters = new Map<string, (m: ViewerMessage | undefined) => void>();
  let failure: Error | undefined;
  worker.on('message', (m: ViewerMessage) => {
    if (m.kind === 'error') failure ??= new Error(m.message);
    arrived.set(m.kind, m);
    waiters.get(m.kind)?.(m);
  });
  worker.on('error', (err) => {
    failure ??= err;
    for (const w of waiters.values()) w(undefined);
  });
  const next = (kind: ViewerMessage['kind'], ms: number) =>
    new Promise<ViewerMessage | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      const done = (m: ViewerMessage | undefined) => {
        clearTimeout(timer);
        resolve(m);
      };
      const had = arrived.get(kind);
      if (had) done(had);
      else waiters.set(kind, done);
    });
  try {
    if (!(await next('open', WAIT_MS))) throw failure ?? new Error('the viewers did not all connect');
    // Until every viewer holds the warm-up event, a late subscriber would read history instead.
    o.emit(WARM_SEQ, benchLine());
    if (!(await next('warm', WAIT_MS)))
      throw failure ?? new Error('the warm-up event did not reach every viewer');
    const t0 = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) * o.rate) / 1000));
        while (sent < due) o.emit(WARM_SEQ + ++sent, benchLine());
        if (sent < total) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    let done = await next('done', DRAIN_MS);
    if (!done) {
      worker.postMessage('stop');
      done = await next('done', WAIT_MS);
    }
    if (done?.kind !== 'done') throw failure ?? new Error('the viewers did not report');
    return { ...done.result, sent: total };
  } finally {
    await worker.terminate();
  }
}

/** The baseline: a bare WebSocketServer on loopback that sends each event to every client. */
export async function startBroadcastServer(): Promise<{
  url: string;
  emit(seq: number, line: string): void;
  close(): Promise<void>;
}> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    emit(seq, line) {
      // The task event wire shape, as the platform sends it.
      const frame = JSON.stringify({
        seq,
        type: 'stream_event',
        payload: JSON.parse(line),
        createdAt: new Date().toISOString(),
      });
      for (const c of wss.clients) c.send(frame);
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}
