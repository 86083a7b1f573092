// One audit entry: a summary row, and on demand a second row with everything else it carries
// (user agent, request id, the detail JSON) — too much for a table cell, needed when digging.
import { Badge, Box, Code, SimpleGrid, Table, Text, UnstyledButton } from '@mantine/core';
import { Fragment, useState } from 'react';
import type { AuditEntry } from '../../../sdk/wire.js';
import { formatTime } from '../../lib/format.js';

type Result = AuditEntry['result'];

const resultColor: Record<Result, string> = {
  success: 'green',
  failure: 'yellow',
  denied: 'orange',
  error: 'red',
};

const target = (e: AuditEntry) =>
  e.targetType ? `${e.targetType}${e.targetId ? `:${e.targetId}` : ''}` : (e.targetId ?? '—');

/** Ids are UUIDs; their first 8 characters tell them apart in a list, the details show all. */
const shortTarget = (e: AuditEntry) =>
  e.targetType ? `${e.targetType}${e.targetId ? `:${e.targetId.slice(0, 8)}` : ''}` : (e.targetId ?? '—');

/** An action with line-break opportunities after its dots and underscores only. */
function breakable(action: string) {
  return action.split(/(?<=[._])/).map((part, i, all) => (
    // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed string
    <Fragment key={i}>
      {part}
      {i < all.length - 1 && <wbr />}
    </Fragment>
  ));
}

function ResultBadge({ entry }: { entry: AuditEntry }) {
  return (
    <Badge color={resultColor[entry.result]} variant="light" size="sm">
      {entry.result}
    </Badge>
  );
}

export function AuditRow({ entry }: { entry: AuditEntry }) {
  const [open, setOpen] = useState(false);
  const detailsId = `audit-${entry.id}`;
  return (
    <>
      <Table.Tr>
        <Table.Td>
          <Text size="sm" style={{ whiteSpace: 'nowrap' }} title={formatTime(entry.at)}>
            {new Date(entry.at).toLocaleTimeString()}
          </Text>
          <Text size="xs" c="dimmed" style={{ whiteSpace: 'nowrap' }}>
            {new Date(entry.at).toLocaleDateString(undefined, { dateStyle: 'medium' })}
          </Text>
          <Text size="xs" c="dimmed" hiddenFrom="sm" truncate maw={130}>
            {entry.actorEmail ?? entry.actorId ?? 'anonymous'}
          </Text>
        </Table.Td>
        <Table.Td visibleFrom="sm">
          <Text size="sm" truncate maw={220}>
            {entry.actorEmail ?? entry.actorId ?? 'anonymous'}
          </Text>
        </Table.Td>
        <Table.Td>
          <Text size="sm" className="mono">
            {breakable(entry.action)}
          </Text>
          <Box hiddenFrom="sm">
            <ResultBadge entry={entry} />
          </Box>
        </Table.Td>
        <Table.Td visibleFrom="md">
          <Text size="sm" className="mono" title={target(entry)} style={{ whiteSpace: 'nowrap' }}>
            {shortTarget(entry)}
          </Text>
        </Table.Td>
        <Table.Td visibleFrom="sm">
          <ResultBadge entry={entry} />
        </Table.Td>
        <Table.Td visibleFrom="lg">
          <Text size="sm">{entry.statusCode ?? '—'}</Text>
        </Table.Td>
        <Table.Td visibleFrom="lg">
          <Text size="sm" className="mono">
            {entry.ip ?? '—'}
          </Text>
        </Table.Td>
        <Table.Td>
          <UnstyledButton
            aria-expanded={open}
            aria-controls={detailsId}
            aria-label={`${open ? 'Hide' : 'Show'} details of ${entry.action} at ${formatTime(entry.at)}`}
            onClick={() => setOpen((o) => !o)}
            px={6}
          >
            <Text size="sm" c="var(--mantine-color-anchor)">
              {open ? 'Hide' : 'Details'}
            </Text>
          </UnstyledButton>
        </Table.Td>
      </Table.Tr>
      {open && (
        <Table.Tr id={detailsId}>
          <Table.Td colSpan={8} bg="var(--mantine-color-default-hover)">
            <SimpleGrid cols={{ base: 1, sm: 2 }} spacing={4} mb="xs">
              <Field label="Actor" value={entry.actorEmail ?? entry.actorId ?? 'anonymous'} />
              <Field label="Target" value={target(entry)} />
              <Field label="Status code" value={String(entry.statusCode ?? '—')} />
              <Field label="IP" value={entry.ip ?? '—'} />
              <Field label="Request id" value={entry.requestId ?? '—'} />
              <Field label="User agent" value={entry.userAgent ?? '—'} />
            </SimpleGrid>
            <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
              {JSON.stringify(entry.detail ?? {}, null, 2)}
            </Code>
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

function Field({ label, value }: { label: string; value: string }) {
  return (
    <Text size="xs" style={{ wordBreak: 'break-all' }}>
      <Text span c="dimmed" size="xs">
        {label}:{' '}
      </Text>
      <span className="mono">{value}</span>
    </Text>
  );
}
