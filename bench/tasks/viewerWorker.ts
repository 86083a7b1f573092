// The fan-out benchmark's viewers, in a worker thread: parsing 200 × 1,000 frames a second on the
// server's own event loop would measure the clients, not the server. Each viewer checks that it
// gets every seq once and in order, and times every event from the `sent` stamp the emitter put
// in it. Stamps are process.hrtime (CLOCK_MONOTONIC) in ms, one clock for every thread.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { resumePoint, WS_TOO_SLOW } from '../../sdk/limits.js';

export interface ViewerJob {
  url: string;
  /** When set, viewer i connects to urls[i % urls.length] instead (viewers spread over replicas). */
  urls?: string[];
  headers: Record<string, string>;
  viewers: number;
  /** The one event sent before timing starts; every viewer has it once all are subscribed. */
  warmSeq: number;
  /** The last seq of the run; the events after warmSeq up to it are the timed ones. */
  lastSeq: number;
}

export interface ViewerResult {
  lagMs: { p50: number; p99: number; max: number };
  /** Timed events received, over all viewers. */
  received: number;
  /** Seqs a viewer never got (gaps and a missing tail), over all viewers. */
  lost: number;
  /** Events a viewer got again or after a later one. */
  duplicated: number;
  /** Sockets that closed or failed before the end (a cut-off viewer that resumed is not one). */
  dropped: number;
  /** Times a viewer was cut off for falling behind (close 4408) and resumed from its seq. */
  cutOff: number;
}

/** Worker → parent. The parent sends `'stop'` to end early (a drain timeout). */
export type ViewerMessage =
  | { kind: 'open' }
  | { kind: 'warm' }
  | { kind: 'done'; result: ViewerResult }
  | { kind: 'error'; message: string };

/** `{ seq, payload: { event: { sent } } }`: the task event wire shape, as both servers send it. */
interface Frame {
  seq: number;
  payload: { event: { sent: number } };
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function run(job: ViewerJob, post: (m: ViewerMessage) => void, onStop: (f: () => void) => void): void {
  const timed = job.lastSeq - job.warmSeq;
  const lags = new Float64Array(job.viewers * timed);
  const last = new Array<number>(job.viewers).fill(0);
  let recorded = 0;
  let duplicated = 0;
  let lost = 0;
  let opened = 0;
  let dropped = 0;
  let cutOff = 0;
  let warm = 0;
  let complete = 0;
  let finished = false;
  const sockets: WebSocket[] = [];

  const finish = () => {
    if (finished) return;
    finished = true;
    for (const seen of last) lost += Math.max(0, job.lastSeq - Math.max(seen, job.warmSeq));
    for (const s of sockets) s.terminate();
    const sorted = lags.subarray(0, recorded).sort();
    const at = (p: number) => sorted[Math.min(recorded - 1, Math.floor(p * recorded))] ?? Number.NaN;
    post({
      kind: 'done',
      result: {
        lagMs: { p50: at(0.5), p99: at(0.99), max: at(1) },
        received: recorded,
        lost,
        duplicated,
        dropped,
        cutOff,
      },
    });
  };
  onStop(finish);

  const connect = (i: number, after: number) => {
    const base = job.urls?.length ? (job.urls[i % job.urls.length] as string) : job.url;
    const ws = new WebSocket(`${base}${after > 0 ? `?after=${after}` : ''}`, {
      headers: job.headers,
      perMessageDeflate: false,
    });
    sockets[i] = ws;
    ws.on('open', () => {
      if (after === 0 && ++opened === job.viewers) post({ kind: 'open' });
    });
    ws.on('message', (data: Buffer) => {
      const at = nowMs();
      const f = JSON.parse(data.toString()) as Frame;
      const prev = last[i] as number;
      if (f.seq <= prev) {
        duplicated++;
        return;
      }
      // A gap counts only seqs after the warm-up: a viewer may miss nothing before it.
      if (prev >= job.warmSeq) lost += f.seq - prev - 1;
      last[i] = f.seq;
      if (f.seq > job.warmSeq && recorded < lags.length) lags[recorded++] = at - f.payload.event.sent;
      if (f.seq >= job.warmSeq && prev < job.warmSeq && ++warm === job.viewers) post({ kind: 'warm' });
      if (f.seq === job.lastSeq && ++complete === job.viewers) finish();
    });
    ws.on('error', (err) => post({ kind: 'error', message: `viewer ${i}: ${err.message}` }));
    ws.on('close', (code: number, reason: Buffer) => {
      if (finished) return;
      // Cut off for falling behind: resume from the store where it says, as the web UI does.
      const from = code === WS_TOO_SLOW ? resumePoint(reason.toString()) : undefined;
      if (from !== undefined) {
        cutOff++;
        connect(i, from);
      } else dropped++;
    });
  };
  for (let i = 0; i < job.viewers; i++) connect(i, 0);
}

if (parentPort) {
  const port = parentPort;
  run(
    workerData as ViewerJob,
    (m) => port.postMessage(m),
    (f) => port.on('message', (m) => m === 'stop' && f()),
  );
}
