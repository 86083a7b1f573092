// Asks for a name or path (new file, new folder, rename). Paths are relative to /workspace; the
// server refuses ".." and absolute paths anyway, this only says so before the round trip.
import { Button, Group, Modal, Stack, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';

export function NamePromptModal({
  opened,
  title,
  label,
  description,
  initial = '',
  confirmLabel,
  onSubmit,
  onClose,
}: {
  opened: boolean;
  title: string;
  label: string;
  description?: string;
  initial?: string;
  confirmLabel: string;
  /** Resolves true when done (the modal closes), false to keep it open. */
  onSubmit: (path: string) => Promise<boolean>;
  onClose: () => void;
}) {
  const [value, setValue] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  // onSubmit reports its own failures and says whether to close.
  const save = useMutation({ mutationFn: onSubmit, onSuccess: (done) => done && onClose() });
  useEffect(() => {
    if (opened) {
      setValue(initial);
      setError(null);
    }
  }, [opened, initial]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const path = value.trim().replace(/^\/+|\/+$/g, '');
    if (!path) return setError('Give a name.');
    if (path.split('/').some((s) => s === '..' || s === '.' || s === ''))
      return setError('Use a path inside the workspace, without "." or ".." parts.');
    save.mutate(path);
  };

  return (
    <Modal opened={opened} onClose={onClose} title={title}>
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label={label}
            description={description}
            value={value}
            onChange={(e) => setValue(e.currentTarget.value)}
            error={error}
            className="mono"
            data-autofocus
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              {confirmLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
