// The follow-up box. A follow-up goes into the running Claude Code process, or resumes a finished
// task's session (docs/tasks.md); a cancelled task takes none, and only the owner may talk to it.
import { Button, Group, Text, Textarea } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, type KeyboardEvent, useState } from 'react';
import type { Task } from '../../../sdk/taskWire.js';
import { sendMessage } from './taskViewApi.js';

/** Why the composer is off for this task and caller, or null when it is on. */
export function composerBlock(task: Task, canInteract: boolean): string | null {
  if (!canInteract) return "Only the task's owner can send follow-ups.";
  if (task.status === 'cancelled') return 'This task was cancelled; use “Run again” to start it anew.';
  if (task.status === 'queued') return 'The task waits for its workspace; send a follow-up once it runs.';
  return null;
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

export function Composer({
  task,
  canInteract,
  onSent,
}: {
  task: Task;
  canInteract: boolean;
  onSent: () => void;
}) {
  const [text, setText] = useState('');
  const block = composerBlock(task, canInteract);
  const message = useMutation({
    mutationFn: (body: string) => sendMessage(task.id, body),
    onSuccess: () => {
      setText('');
      onSent();
    },
  });
  const busy = message.isPending;
  const send = (e?: FormEvent) => {
    e?.preventDefault();
    if (block || busy || !text.trim()) return;
    message.mutate(text);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send();
    }
  };
  const placeholder =
    task.status === 'running' || task.status === 'waiting_for_approval' || task.status === 'starting'
      ? 'Add to the running turn…'
      : 'Send a follow-up…';
  return (
    <form onSubmit={send} aria-label="Follow-up">
      <Group gap="xs" align="flex-end" wrap="nowrap">
        <Textarea
          style={{ flex: 1 }}
          aria-label="Follow-up message"
          placeholder={block ?? placeholder}
          autosize
          minRows={1}
          maxRows={6}
          value={text}
          disabled={!!block}
          onChange={(e) => setText(e.currentTarget.value)}
          onKeyDown={onKeyDown}
          error={message.error?.message}
        />
        <Button type="submit" loading={busy} disabled={!!block || !text.trim()}>
          Send
        </Button>
      </Group>
      {!block && (
        <Text size="xs" c="dimmed" mt={4} visibleFrom="sm">
          {isMac ? '⌘' : 'Ctrl'}+Enter sends
        </Text>
      )}
    </form>
  );
}
