// What the density bench (run.ts) and its load generators (loadGen.ts) say to each other over IPC.

export interface SimUser {
  token: string;
  taskId: string;
  kind: 'sse' | 'ws';
}

export type GenCommand = {
  id: number;
} /** Open these users (stream + API calls), at most `perSecond` a second. */ & (
  | { kind: 'users'; base: string; users: SimUser[]; perSecond: number }
  /** Connect a scripted agent for `workspaceId` to the hub's unix socket in `dir`. */
  | { kind: 'agent'; dir: string; token: string; workspaceId: string; taskIds: string[] }
  /** Add these tasks to the ones the agents stream, each at `rate` events a second. */
  | { kind: 'emit'; active: { workspaceId: string; taskId: string }[]; rate: number }
  /** The API baseline: the users' calls with no stream open. */
  | { kind: 'apiOnly'; base: string; users: SimUser[] }
  /** The fan-out baseline: `viewers` WebSockets to a bare `ws` broadcast. */
  | { kind: 'bare'; url: string; viewers: number }
  /** Forget the samples so far (the end of a ramp). */
  | { kind: 'reset' }
  /** Send the samples since the last reset or collect. */
  | { kind: 'collect' }
  /** Close every stream, timer and agent. */
  | { kind: 'close' }
);

export type GenReport =
  | { kind: 'ready' }
  | { kind: 'ok'; id: number }
  | {
      kind: 'samples';
      id: number;
      apiMs: number[];
      lagMs: number[];
      errors: number;
      /** Streams refused or ended by the other side since the last collect (a reset keeps them). */
      lost: number;
    }
  | { kind: 'error'; id: number; message: string };
