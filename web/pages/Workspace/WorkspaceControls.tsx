// Start, stop and delete for one workspace. Delete asks first and offers to keep the files, so a
// workspace created again for the same repository finds them.
import { Button, Checkbox, Group, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { canRun, isAdmin, useSession } from '../../app/session.js';
import { repoName } from '../../lib/format.js';
import { attempt, notifyError, notifyOk } from '../../lib/notify.js';
import { ConfirmModal } from './ConfirmModal.js';
import { deleteWorkspace, startWorkspace, stopWorkspace } from './workspaceApi.js';

export function WorkspaceControls({
  workspace: w,
  onDeleted,
}: {
  workspace: Workspace;
  onDeleted?: () => void;
}) {
  const me = useSession();
  const queryClient = useQueryClient();
  const [confirming, confirm] = useDisclosure(false);
  const [keepFiles, setKeepFiles] = useState(false);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['workspaces'] });
  const lifecycle = useMutation({
    mutationFn: (what: 'start' | 'stop') => (what === 'start' ? startWorkspace(w.id) : stopWorkspace(w.id)),
    onError: (err) => notifyError(err),
    onSettled: refresh,
  });
  if (!canRun(me) || (w.ownerId !== me.user.id && !isAdmin(me))) return null;

  const run = (what: 'start' | 'stop') => lifecycle.mutate(what);
  const busy = lifecycle.isPending ? lifecycle.variables : null;
  const remove = () =>
    attempt(async () => {
      await deleteWorkspace(w.id, keepFiles);
      notifyOk(
        `Deleted the workspace for ${repoName(w.repository)}${keepFiles ? '; its files are kept' : ''}.`,
      );
      onDeleted?.();
      // It is gone: polling it again would only fetch a 404.
      queryClient.removeQueries({ queryKey: ['workspaces', 'one', w.id] });
      await refresh();
    });
  const canStart = w.status === 'stopped' || w.status === 'failed';
  const canStop = w.status === 'running' || w.status === 'starting';

  return (
    <Group gap="xs">
      {canStart && (
        <Button size="xs" loading={busy === 'start'} onClick={() => run('start')}>
          Start
        </Button>
      )}
      {canStop && (
        <Button size="xs" variant="default" loading={busy === 'stop'} onClick={() => run('stop')}>
          Stop
        </Button>
      )}
      <Button size="xs" variant="subtle" color="red" onClick={confirm.open}>
        Delete
      </Button>
      <ConfirmModal
        opened={confirming}
        onClose={confirm.close}
        title="Delete this workspace?"
        confirmLabel={keepFiles ? 'Delete, keep files' : 'Delete with its files'}
        onConfirm={remove}
      >
        <Text size="sm">
          The workspace for <b>{repoName(w.repository)}</b> is stopped and removed, with its terminals.
        </Text>
        <Checkbox
          label="Keep files"
          description="A new workspace for the same repository finds /workspace and the home as they were."
          checked={keepFiles}
          onChange={(e) => setKeepFiles(e.currentTarget.checked)}
        />
      </ConfirmModal>
    </Group>
  );
}
