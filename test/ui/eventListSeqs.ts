// The seqs a task page's conversation shows, read from the page (test/ui and test/cluster).
import type { Page } from 'playwright-core';

/** Every seq the list shows, row by row, scrolling it from top to bottom (it is virtualised). */
export function shownSeqs(page: Page): Promise<number[]> {
  // This function runs in the page; this file is compiled without the DOM's types, hence the casts.
  type Raf = { requestAnimationFrame(cb: () => void): void };
  type Row = { dataset: Record<string, string | undefined> };
  return page.getByTestId('event-list').evaluate(async (el) => {
    const { requestAnimationFrame } = globalThis as unknown as Raf;
    const frame = () => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const rows = new Map<number, string>();
    el.scrollTop = 0;
    await frame();
    for (;;) {
      for (const a of el.querySelectorAll('article[data-index]') as unknown as Row[])
        rows.set(Number(a.dataset.index), a.dataset.seqs ?? '');
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) break;
      el.scrollTop += Math.max(50, el.clientHeight / 2);
      await frame();
    }
    return [...rows.entries()]
      .sort(([a], [b]) => a - b)
      .flatMap(([, seqs]) => seqs.split(' ').filter(Boolean).map(Number));
  });
}
