// The task's event log in React: a TaskEventFeed per task, wired to fetch and the browser's
// WebSocket, with its connection state. `onLive` sees each batch of new events, so the page can
// refetch the task when one changes its status, cost or approvals; `onUsage` each live usage frame.
import { useEffect, useRef, useState } from 'react';
import type { TaskEvent, TaskUsageFrame } from '../../../sdk/taskWire.js';
import { api } from '../../api/client.js';
import { useSignedOut } from '../../app/session.js';
import { fetchEventPage, takeHistory } from './historyPrefetch.js';
import { type Connection, type FeedSocket, TaskEventFeed } from './taskEventFeed.js';

export interface TaskEvents {
  events: readonly TaskEvent[];
  /** Null until the history is in; then how many events it had. */
  historyCount: number | null;
  connection: Connection;
}

export function useTaskEvents(
  taskId: string,
  onLive: (added: TaskEvent[]) => void,
  onUsage: (frame: TaskUsageFrame) => void,
  enabled = true,
): TaskEvents {
  const [state, setState] = useState<TaskEvents>({
    events: [],
    historyCount: null,
    connection: 'connecting',
  });
  const onLiveRef = useRef(onLive);
  onLiveRef.current = onLive;
  const onUsageRef = useRef(onUsage);
  onUsageRef.current = onUsage;
  const onSignedOut = useSignedOut();
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;

  useEffect(() => {
    setState({ events: [], historyCount: null, connection: 'connecting' });
    if (!enabled) return;
    let historyDone = false;
    const feed = new TaskEventFeed(
      {
        fetchPage: (after) => fetchEventPage(taskId, after),
        takePrefetched: () => takeHistory(taskId),
        openSocket: (after) =>
          new WebSocket(api.tasks.eventsSocketUrl(taskId, after)) as unknown as FeedSocket,
        isOnline: () => navigator.onLine,
        setTimer: (fn, ms) => window.setTimeout(fn, ms),
        clearTimer: (t) => window.clearTimeout(t as number),
      },
      {
        events: (log, added) => {
          setState((s) => ({ ...s, events: log.events }));
          if (historyDone) onLiveRef.current(added);
        },
        historyLoaded: (count) => {
          historyDone = true;
          setState((s) => ({ ...s, historyCount: count }));
        },
        connection: (connection) => setState((s) => ({ ...s, connection })),
        usage: (frame) => onUsageRef.current(frame),
        signedOut: () => signedOut.current(),
      },
    );
    feed.start();
    const online = () => feed.retryNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      feed.stop();
    };
  }, [taskId, enabled]);

  return state;
}
