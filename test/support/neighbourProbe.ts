// What a noisy neighbour costs everyone else, measured from outside over real loopback HTTP and
// WebSockets: the control plane's API, a real task's event delivery (the claude CLI in workspace
// B, its agent, ingest and fan-out to a WebSocket viewer), and B's terminal echo. Used by the
// noisy-neighbour test (test/alone/) and `npm run bench:noisy`, each measuring quiet, then with a
// hog in workspace A, in the same run.
import WebSocket from 'ws';
import type { Task } from '../../sdk/taskWire.js';
import type { ModelStub } from './modelStub.js';
import { openEchoTerminal } from './terminalEcho.js';

/**
 * Runs for as long as its workspace does: a fork bomb held at the workspace's pids limit, and two
 * busy loops. The bomb is bash's, reseeded every second: dash (Debian's /bin/sh) exits on its first
 * failed fork, so a dash bomb dies out within seconds of reaching the limit (and did, mid-measure,
 * in a CI run: 14 processes left where 500 were expected); bash retries a failed fork and goes on.
 */
export const HOG_SCRIPT =
  "nohup bash -c 'bomb() { bomb | bomb & }; while :; do bomb; sleep 1; done' >/dev/null 2>&1 & " +
  "for i in 1 2; do nohup sh -c 'while :; do :; done' >/dev/null 2>&1 & done; echo started";

export interface NeighbourFigures {
  /** Sequential GET /api/v1/me, ms each. */
  api: number[];
  /** The stub's answer to a model request → the task's assistant event at a WebSocket viewer, ms. */
  events: number[];
  /** A keystroke in B's terminal → its echo, ms. */
  echo: number[];
}

export interface ProbeOptions {
  /** The control plane's base URL (http://127.0.0.1:port) and an Authorization header value. */
  base: string;
  auth: string;
  /** Workspace B: the one that is measured, running. */
  workspaceId: string;
  /** The model stub the gateway forwards to; the probe adds its own scenarios. */
  stub: ModelStub;
  apiRequests: number;
  keys: number;
  /** Model turns of each task, all but the first measured. */
  turns: number;
}

export interface NeighbourProbe {
  measure(): Promise<NeighbourFigures>;
  close(): void;
}

const TIMEOUT_MS = 60_000;

export async function openNeighbourProbe(o: ProbeOptions): Promise<NeighbourProbe> {
  const ws = o.base.replace(/^http/, 'ws');
  const headers = { authorization: o.auth };
  const term = await openEchoTerminal(
    `${ws}/api/v1/workspaces/${o.workspaceId}/terminals?cols=80&rows=24`,
    o.auth,
  );

  const api = async (): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < o.apiRequests; i++) {
      const t0 = performance.now();
      const res = await fetch(`${o.base}/api/v1/me`, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /api/v1/me answered ${res.status}`);
      times.push(performance.now() - t0);
    }
    return times;
  };

  const echo = () => term.measure(o.keys);

  let runs = 0;
  const events = async (): Promise<number[]> => {
    // Each run plays its own scenario, so the stub's record of it is this run's alone.
    const scenario = `neighbour-${++runs}-${process.pid}`;
    const read = { type: 'tool_use' as const, name: 'Read', input: { file_path: '/workspace/README.md' } };
    o.stub.setScenario(scenario, {
      turns: [
        ...Array.from({ length: o.turns - 1 }, () => ({ content: [read] })),
        { content: [{ type: 'text' as const, text: 'read it' }] },
      ],
    });
    const res = await fetch(`${o.base}/api/v1/tasks`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ workspaceId: o.workspaceId, prompt: `[scenario:${scenario}] read the readme` }),
    });
    if (res.status !== 201 && res.status !== 200)
      throw new Error(`POST /api/v1/tasks answered ${res.status}: ${await res.text()}`);
    const task = (await res.json()) as Task;
    // Arrival (wall clock, as the stub records requests) of each assistant event, in order.
    const arrivals: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const viewer = new WebSocket(`${ws}/api/v1/tasks/${task.id}/events`, { headers });
      const timer = setTimeout(async () => {
        viewer.close();
        const now = await fetch(`${o.base}/api/v1/tasks/${task.id}`, { headers }).then((r) => r.text());
        const asked = o.stub.requests.filter((r) => r.scenario === scenario).length;
        reject(
          new Error(
            `task ${task.id} did not finish its ${o.turns} turns within 60 s: ${arrivals.length} assistant events, ${asked} model requests; ${now}`,
          ),
        );
      }, TIMEOUT_MS);
      viewer.on('message', (data: Buffer) => {
        const e = JSON.parse(data.toString('utf8')) as { type?: string };
        if (e.type === 'assistant') arrivals.push(Date.now());
        if (e.type === 'result' || e.type === 'rc_exit') {
          clearTimeout(timer);
          viewer.close();
          resolve();
        }
      });
      viewer.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const answered = o.stub.requests
      .filter((r) => r.main && r.scenario === scenario)
      .map((r) => r.at)
      .sort((a, b) => a - b);
    if (arrivals.length < o.turns || answered.length < o.turns)
      throw new Error(
        `task ${task.id}: ${arrivals.length} assistant events for ${answered.length} model requests, expected ${o.turns}`,
      );
    // The first turn waits on the CLI's start and the viewer's connect, so it is left out.
    return arrivals.slice(1, o.turns).map((at, i) => at - (answered[i + 1] as number));
  };

  return {
    // The probes run one after the other so that they do not measure each other.
    async measure() {
      return { api: await api(), events: await events(), echo: await echo() };
    },
    close: () => term.close(),
  };
}
