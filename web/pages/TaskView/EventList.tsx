// The conversation as a virtualised feed: only the rows in view are in the DOM, each measured
// after it renders (rows differ wildly in height), so thousands of events scroll smoothly. It is
// end-anchored like a chat: it follows new rows while the reader is at the bottom and stays put
// once they scroll up, offering "Jump to latest" instead.
import { Button, Text } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, type UIEvent, useCallback, useLayoutEffect, useRef, useState } from 'react';
import type { ConvItem } from './convItem.js';
import { EventRow } from './EventRow.js';
import { toolState } from './ToolCall.js';
import { FILE_TOOLS } from './toolDiff.js';

/** How close to the bottom (px) still counts as "at the latest". */
const AT_END_PX = 80;
const ESTIMATE_PX = 44;

/** Rendered once the history is in, so its first rows are the latest ones, not the oldest. */
export function EventList({
  items,
  eventCount,
  pendingApprovals,
  expiredApprovals,
  active,
}: {
  items: ConvItem[];
  eventCount: number;
  pendingApprovals: ReadonlySet<string>;
  /** Approvals nobody answered before the turn ended (the task was cancelled). */
  expiredApprovals: ReadonlySet<string>;
  active: boolean;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [atEnd, setAtEnd] = useState(true);
  const [toggled, setToggled] = useState<Record<string, boolean>>({});
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ESTIMATE_PX,
    // Start at the bottom: past the end is clamped to it, and no row at the top is ever drawn.
    initialOffset: () => items.length * ESTIMATE_PX,
    getItemKey: (i) => items[i]?.key ?? i,
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: AT_END_PX,
    overscan: 8,
  });

  useLayoutEffect(() => {
    virtualizer.scrollToEnd();
  }, [virtualizer]);

  // From the element, not the virtualizer: this handler can run before the virtualizer's own
  // scroll listener has read the new offset.
  const onScroll = (e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    setAtEnd(el.scrollHeight - el.clientHeight - el.scrollTop <= AT_END_PX);
  };
  const jump = useCallback(() => {
    virtualizer.scrollToEnd();
    setAtEnd(true);
  }, [virtualizer]);
  // Read through refs, so the callback stays the same and memoised rows skip re-rendering.
  const latest = useRef({ items, pendingApprovals });
  latest.current = { items, pendingApprovals };
  const onToggle = useCallback(
    (key: string) =>
      setToggled((t) => {
        const { items, pendingApprovals } = latest.current;
        const item = items.find((i) => i.key === key);
        return { ...t, [key]: !(t[key] ?? (item ? openByDefault(item, pendingApprovals) : false)) };
      }),
    [],
  );
  const firstInit = items.find((i) => i.kind === 'init')?.key;
  const rows = virtualizer.getVirtualItems();

  return (
    <div style={{ position: 'relative', flex: 1, minHeight: 0 }}>
      <div
        ref={scrollRef}
        data-testid="event-list"
        data-events-loaded={eventCount}
        role="feed"
        aria-label="Conversation"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the feed scrolls with the keyboard.
        tabIndex={0}
        onScroll={onScroll}
        style={{
          height: '100%',
          overflowY: 'auto',
          overscrollBehavior: 'contain',
          border: '1px solid var(--mantine-color-default-border)',
          borderRadius: 'var(--mantine-radius-md)',
          background: 'var(--mantine-color-body)',
        }}
      >
        {items.length === 0 && (
          <Text size="sm" c="dimmed" p="md">
            Nothing yet. Claude Code's output appears here as it runs.
          </Text>
        )}
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative', width: '100%' }}>
          {rows.map((row) => {
            const item = items[row.index];
            if (!item) return null;
            return (
              <article
                key={row.key}
                ref={virtualizer.measureElement}
                data-index={row.index}
                data-seq={item.seq}
                data-seqs={item.seqs.join(' ')}
                data-kind={item.kind}
                aria-posinset={row.index + 1}
                aria-setsize={items.length}
                style={{
                  position: 'absolute',
                  top: 0,
                  left: 0,
                  width: '100%',
                  transform: `translateY(${row.start}px)`,
                  padding: '6px 12px',
                }}
              >
                <EventRow
                  item={item}
                  firstInit={item.key === firstInit}
                  toolState={
                    item.kind === 'tool'
                      ? toolState(item, { pending: pendingApprovals, expired: expiredApprovals }, active)
                      : 'none'
                  }
                  open={toggled[item.key] ?? openByDefault(item, pendingApprovals)}
                  onToggle={onToggle}
                />
              </article>
            );
          })}
        </div>
      </div>
      {!atEnd && items.length > 0 && <JumpToLatest onClick={jump} />}
    </div>
  );
}

const JumpToLatest = memo(function JumpToLatest({ onClick }: { onClick: () => void }) {
  return (
    <Button
      size="xs"
      radius="xl"
      pos="absolute"
      bottom={12}
      left="50%"
      style={{ transform: 'translateX(-50%)', boxShadow: 'var(--mantine-shadow-md)' }}
      onClick={onClick}
    >
      Jump to latest ↓
    </Button>
  );
});

/**
 * File changes start open (their diff is the point), except while their approval card shows the
 * same diff; other tool calls start as one line.
 */
function openByDefault(item: ConvItem, pendingApprovals: ReadonlySet<string>): boolean {
  if (item.kind !== 'tool' || !FILE_TOOLS.has(item.name)) return false;
  return !(item.approvalId && pendingApprovals.has(item.approvalId));
}
