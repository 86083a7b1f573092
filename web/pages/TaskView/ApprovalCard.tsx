// A tool call waiting for a person: what Claude wants to do (a diff for file changes) and Allow /
// Deny, with "always allow" (remember: true) and an optional reason sent back with a deny. Big
// targets and full-width buttons, since this is what someone answers from their phone.
import { Box, Button, Checkbox, Group, Paper, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import type { Approval } from '../../../sdk/taskWire.js';
import { toolSubject } from '../../../sdk/toolSummary.js';
import { notifyError } from '../../lib/notify.js';
import { ToolInput } from './ToolInput.js';
import { answerApproval } from './taskViewApi.js';

export function ApprovalCard({
  approval,
  canAnswer,
  onSettled,
}: {
  approval: Approval;
  /** Only the task's owner may answer (docs/tasks.md, "Tool approvals"). */
  canAnswer: boolean;
  /** After an answer: the approval's id when it went through, null when it did not. */
  onSettled: (answeredId: string | null) => void;
}) {
  const [remember, setRemember] = useState(false);
  const [message, setMessage] = useState('');
  const tool = approval.toolName;
  const reply = useMutation({
    mutationFn: (decision: 'allow' | 'deny') =>
      answerApproval(approval.taskId, approval.id, {
        decision,
        ...(decision === 'allow' && remember ? { remember: true } : {}),
        ...(decision === 'deny' && message.trim() ? { message: message.trim() } : {}),
      }),
    onError: (err) => notifyError(err, 'The answer did not go through'),
    // On a failure, too: the usual cause is that it was answered elsewhere meanwhile.
    onSettled: (_task, err) => onSettled(err ? null : approval.id),
  });
  const answer = (decision: 'allow' | 'deny') => reply.mutate(decision);
  const busy = reply.isPending ? reply.variables : null;
  return (
    <Paper
      role="region"
      aria-label={`Approval for ${tool}`}
      radius="md"
      p="sm"
      withBorder
      style={{
        borderColor: 'var(--mantine-color-orange-5)',
        borderWidth: 2,
        background: 'var(--mantine-color-orange-light)',
      }}
    >
      <Group justify="space-between" wrap="nowrap" gap="xs" mb={6}>
        <Text fw={600} size="sm" style={{ minWidth: 0, overflowWrap: 'anywhere' }}>
          Claude wants to use <span className="mono">{tool}</span>
          <Text span c="dimmed" fw={400} className="mono">
            {' '}
            {toolSubject(tool, approval.input)}
          </Text>
        </Text>
      </Group>
      <Box mb="xs">
        <ToolInput name={tool} input={approval.input} maxHeight="30vh" />
      </Box>
      {canAnswer ? (
        <>
          <Group gap="sm" mb="xs" align="flex-end" wrap="wrap">
            <Checkbox
              label={`Always allow ${tool} in this task`}
              checked={remember}
              onChange={(e) => setRemember(e.currentTarget.checked)}
            />
            <TextInput
              size="xs"
              style={{ flex: '1 1 200px' }}
              aria-label="Reason for denying (optional)"
              placeholder="Reason, if you deny (optional)"
              value={message}
              onChange={(e) => setMessage(e.currentTarget.value)}
            />
          </Group>
          <Group grow gap="sm">
            <Button
              color="green"
              loading={busy === 'allow'}
              disabled={busy !== null}
              onClick={() => answer('allow')}
            >
              Allow
            </Button>
            <Button
              color="red"
              variant="outline"
              loading={busy === 'deny'}
              disabled={busy !== null}
              onClick={() => answer('deny')}
            >
              Deny
            </Button>
          </Group>
        </>
      ) : (
        <Text size="sm" c="dimmed">
          Waiting for the task's owner to answer.
        </Text>
      )}
    </Paper>
  );
}
