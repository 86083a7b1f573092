// Live file changes from /api/v1/workspaces/:id/watch (owner only). The socket reconnects with a
// growing delay when it drops, e.g. while the workspace's agent reconnects, but not once the server
// said the session ended (4401: sign in again) or the caller may no longer watch (4403).
import { useEffect, useRef } from 'react';
import { WS_FORBIDDEN, WS_UNAUTHORIZED } from '../../../sdk/limits.js';
import { api } from '../../api/client.js';
import { useSignedOut } from '../../app/session.js';

export interface FileChange {
  path: string;
  kind: 'change' | 'rename';
}

export function useFileWatch(
  workspaceId: string,
  enabled: boolean,
  onChanges: (changes: FileChange[]) => void,
): void {
  const handler = useRef(onChanges);
  handler.current = onChanges;
  const onSignedOut = useSignedOut();
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;

  useEffect(() => {
    if (!enabled) return;
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay = 1000;
    let stopped = false;
    let wasReady = false;
    const connect = () => {
      socket = new WebSocket(api.files.watchUrl(workspaceId));
      socket.onmessage = (ev) => {
        if (typeof ev.data !== 'string') return;
        const msg = JSON.parse(ev.data) as { type: string; changes?: FileChange[] };
        if (msg.type === 'ready') {
          delay = 1000;
          // Changes made while the socket was down were missed: a rescan of the root says "list
          // everything again".
          if (wasReady) handler.current([{ path: '', kind: 'rename' }]);
          wasReady = true;
        }
        if (msg.type === 'changes' && msg.changes) handler.current(msg.changes);
      };
      socket.onclose = (ev) => {
        if (stopped || ev.code === WS_FORBIDDEN) return;
        if (ev.code === WS_UNAUTHORIZED) return signedOut.current();
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30_000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, [workspaceId, enabled]);
}
