// Live file changes from /api/v1/workspaces/:id/watch (owner only). The socket reconnects with a
// growing delay when it drops, e.g. while the workspace's agent reconnects.
import { useEffect, useRef } from 'react';
import { api } from '../../api/client.js';

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
      socket.onclose = () => {
        if (stopped) return;
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
