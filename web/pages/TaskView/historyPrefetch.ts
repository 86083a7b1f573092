// Starts downloading a task's event history from the page's first render instead of its first
// effect. React reveals a lazily loaded page no sooner than 300 ms after its Suspense fallback
// appeared (React 19's fallback throttle), and effects wait for that reveal; on a fast network
// the whole history is in by then. The page's feed takes the download over when it starts.
import type { TaskEvent } from '../../../sdk/taskWire.js';
import { api } from '../../api/client.js';

type Page = { items: TaskEvent[]; next: number | null };

const PAGE = 1000;
/** A download nobody took (the page was left at once) is dropped after this long. */
const KEEP_MS = 30_000;

const started = new Map<string, Promise<TaskEvent[]>>();

/** One page of the event log after `after`. */
export const fetchEventPage = (taskId: string, after: number) =>
  api.tasks.events(taskId, { after, limit: PAGE });

/** Begins fetching every page of the task's history, once until it is taken. */
export function prefetchHistory(taskId: string): void {
  if (started.has(taskId)) return;
  const download = (async () => {
    const items: TaskEvent[] = [];
    let after: number | null = 0;
    while (after !== null) {
      const page: Page = await fetchEventPage(taskId, after);
      items.push(...page.items);
      after = page.next;
    }
    return items;
  })();
  download.catch(() => {}); // the taker sees the failure; an untaken one must not be unhandled
  started.set(taskId, download);
  setTimeout(() => {
    if (started.get(taskId) === download) started.delete(taskId);
  }, KEEP_MS);
}

/** The download begun for `taskId`, handed over once; undefined when none was begun. */
export function takeHistory(taskId: string): Promise<TaskEvent[]> | undefined {
  const download = started.get(taskId);
  started.delete(taskId);
  return download;
}
