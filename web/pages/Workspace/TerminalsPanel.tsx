// The Terminals tab: one tab per terminal. On load it lists the terminals that are open on the
// server and reattaches to each (the server replays their screens); "+" opens a new one, and
// closing a tab ends its terminal. All views stay mounted, so hidden tabs keep their sockets.
import { Alert, Box, Button, CloseButton, Group, Loader, UnstyledButton } from '@mantine/core';
import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { api } from '../../api/client.js';

const TerminalView = lazy(() => import('./TerminalView.js'));

interface Tab {
  key: string;
  terminalId: string | null;
  label: string;
  exited: boolean;
  endOnUnmount: { current: boolean };
}

const makeTab = (n: number, terminalId: string | null): Tab => ({
  key: `t${n}`,
  terminalId,
  label: `Terminal ${n}`,
  exited: false,
  endOnUnmount: { current: false },
});

export function TerminalsPanel({ workspaceId, visible }: { workspaceId: string; visible: boolean }) {
  const [tabs, setTabs] = useState<Tab[] | null>(null);
  const [active, setActive] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Numbers tabs for their labels and keys; never reused within the page.
  const count = useRef(0);

  useEffect(() => {
    let live = true;
    api.terminals.list(workspaceId).then(
      ({ items }) => {
        if (!live) return;
        const open = [...items]
          .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
          .map((i) => makeTab(++count.current, i.id));
        setTabs(open);
        setActive(open[0]?.key ?? null);
      },
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [workspaceId]);

  const update = (key: string, change: Partial<Tab>) =>
    setTabs((ts) => ts?.map((t) => (t.key === key ? { ...t, ...change } : t)) ?? ts);
  const add = () => {
    const t = makeTab(++count.current, null);
    setTabs((ts) => [...(ts ?? []), t]);
    setActive(t.key);
  };
  const close = (tab: Tab) => {
    tab.endOnUnmount.current = true;
    const rest = (tabs ?? []).filter((t) => t.key !== tab.key);
    setTabs(rest);
    if (active === tab.key) setActive(rest[rest.length - 1]?.key ?? null);
  };

  if (error) return <Alert color="red">{error}</Alert>;
  if (!tabs) return <Loader size="sm" aria-label="Loading terminals" />;
  return (
    <Box>
      <Group gap={4} role="tablist" aria-label="Terminals" mb={6} wrap="wrap">
        {tabs.map((t) => (
          <Group
            key={t.key}
            gap={0}
            wrap="nowrap"
            style={{
              borderRadius: 6,
              border: '1px solid var(--mantine-color-default-border)',
              background: t.key === active ? 'var(--mantine-primary-color-light)' : undefined,
            }}
          >
            <UnstyledButton
              role="tab"
              aria-selected={t.key === active}
              onClick={() => setActive(t.key)}
              px="sm"
              py={4}
              fz="sm"
              c={t.exited ? 'dimmed' : undefined}
            >
              {t.label}
              {t.exited ? ' (exited)' : ''}
            </UnstyledButton>
            <CloseButton size="sm" aria-label={`Close ${t.label}`} onClick={() => close(t)} mr={2} />
          </Group>
        ))}
        <Button size="compact-sm" variant="subtle" onClick={add} aria-label="New terminal">
          + New terminal
        </Button>
      </Group>
      {tabs.length === 0 && (
        <Alert color="gray">
          No terminal is open in this workspace. Open one with “New terminal”; it keeps running when you leave
          the page, until you close its tab.
        </Alert>
      )}
      <Suspense fallback={<Loader size="sm" aria-label="Loading the terminal" />}>
        {tabs.map((t) => (
          <Box key={t.key} role="tabpanel" aria-label={t.label} display={t.key === active ? 'block' : 'none'}>
            <TerminalView
              workspaceId={workspaceId}
              terminalId={t.terminalId}
              active={visible && t.key === active}
              endOnUnmount={t.endOnUnmount}
              onReady={(id) => update(t.key, { terminalId: id })}
              onExit={() => update(t.key, { exited: true })}
            />
          </Box>
        ))}
      </Suspense>
    </Box>
  );
}
