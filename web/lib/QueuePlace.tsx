// A queued task's place in the queue and why it waits, with the start estimate when the server
// has one; and the badge of a priority other than normal. The tasks list and the task page share
// both.
import { Badge, type MantineSize, Text } from '@mantine/core';
import type { Priority, TaskQueuePlace } from '../../sdk/taskWire.js';
import { estimateText, priorityLook, queuePlaceText } from './queueText.js';

export function QueuePlace({ place, size = 'xs' }: { place: TaskQueuePlace; size?: MantineSize }) {
  const estimate = estimateText(place.estimatedStartAt);
  return (
    <Text size={size} c="dimmed" data-testid="queue-place" style={{ overflowWrap: 'anywhere' }}>
      {queuePlaceText(place)}
      {estimate && ` · ${estimate}`}
    </Text>
  );
}

export function PriorityBadge({ priority, size }: { priority: Priority; size?: MantineSize }) {
  const look = priorityLook[priority];
  if (!look) return null;
  return (
    <Badge color={look.color} variant="outline" size={size} styles={{ root: { maxWidth: 'none' } }}>
      {look.label}
    </Badge>
  );
}
