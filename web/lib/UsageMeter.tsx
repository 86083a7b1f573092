// A labelled bar: how much of something is used or reserved, with the numbers beside it. With no
// limit there is nothing to fill, so only the numbers show.
import { Group, Progress, Stack, Text } from '@mantine/core';

export function UsageMeter({
  label,
  used,
  total,
  text,
  hideLabel = false,
}: {
  /** Names the bar for screen readers, and on screen unless hideLabel (a column header says it). */
  label: string;
  used: number;
  /** null: not limited. */
  total: number | null;
  /** "1.5 of 4 cores" and the like. */
  text: string;
  hideLabel?: boolean;
}) {
  // Placement never reserves beyond a node's capacity, but a capacity lowered in the config can
  // leave a node above it: the number says so, the bar just fills up.
  const percent = total && total > 0 ? Math.round((used / total) * 100) : null;
  const color = (percent ?? 0) >= 90 ? 'red' : (percent ?? 0) >= 70 ? 'yellow' : 'blue';
  return (
    <Stack gap={4}>
      <Group justify={hideLabel ? 'flex-start' : 'space-between'} gap="xs" wrap="nowrap">
        {!hideLabel && (
          <Text size="xs" c="dimmed">
            {label}
          </Text>
        )}
        <Text size="xs" ta="right" style={{ whiteSpace: 'nowrap' }}>
          {text}
          {percent !== null && (
            <Text span c="dimmed" size="xs">
              {' '}
              · {percent}%
            </Text>
          )}
        </Text>
      </Group>
      {percent !== null && (
        <Progress.Root size="sm">
          <Progress.Section value={Math.min(100, percent)} color={color} aria-label={`${label}: ${text}`} />
        </Progress.Root>
      )}
    </Stack>
  );
}
