// A yes/no question before something that cannot be undone (deleting files or a workspace).
import { Button, Group, Modal, Stack } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import type { ReactNode } from 'react';

export function ConfirmModal({
  opened,
  title,
  children,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  opened: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** Runs on confirmation; the modal closes when it settles. */
  onConfirm: () => Promise<unknown> | undefined;
  onClose: () => void;
}) {
  // onConfirm reports its own failures (a toast); the modal only waits for it to settle.
  const confirmed = useMutation({ mutationFn: async () => onConfirm(), onSettled: onClose });
  const confirm = () => confirmed.mutate();
  return (
    <Modal opened={opened} onClose={onClose} title={title}>
      <Stack>
        {children}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button color="red" loading={confirmed.isPending} onClick={confirm}>
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
