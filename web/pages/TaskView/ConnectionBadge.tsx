// Whether the live event stream is connected, so a quiet conversation is not mistaken for a
// stalled one.
import { Group, Text } from '@mantine/core';
import type { Connection } from './taskEventFeed.js';

const LOOK: Record<Connection, { label: string; color: string }> = {
  connecting: { label: 'Connecting', color: 'var(--mantine-color-gray-5)' },
  live: { label: 'Live', color: 'var(--mantine-color-green-6)' },
  reconnecting: { label: 'Reconnecting', color: 'var(--mantine-color-yellow-6)' },
  offline: { label: 'Offline', color: 'var(--mantine-color-red-6)' },
  refused: { label: 'No longer allowed', color: 'var(--mantine-color-gray-6)' },
};

export function ConnectionBadge({ state }: { state: Connection }) {
  const look = LOOK[state];
  return (
    <Group
      gap={6}
      wrap="nowrap"
      role="status"
      aria-label={`Connection: ${look.label}`}
      data-connection={state}
    >
      <span
        aria-hidden="true"
        style={{ width: 8, height: 8, borderRadius: '50%', background: look.color, display: 'inline-block' }}
      />
      <Text size="xs" c="dimmed">
        {look.label}
      </Text>
    </Group>
  );
}
