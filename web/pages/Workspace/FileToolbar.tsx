// Actions on the files: new file or folder and upload (into the selected directory, or the one
// of the selected file), refresh; download, rename and delete of the selected entry. Writing is
// for the workspace's owner, so the others see only refresh and download.
import { ActionIcon, Anchor, Button, FileButton, Group, Stack, Text, Tooltip } from '@mantine/core';
import { useRef, useState } from 'react';
import { attempt, notifyOk } from '../../lib/notify.js';
import { ConfirmModal } from './ConfirmModal.js';
import {
  deletePath,
  downloadUrl,
  makeDir,
  parentOf,
  renamePath,
  uploadFiles,
  type WorkspaceFile,
  writeFile,
} from './fileApi.js';
import { NamePromptModal } from './NamePromptModal.js';

type Prompt = 'file' | 'folder' | 'rename' | null;

export function FileToolbar({
  workspaceId,
  canWrite,
  selected,
  onRefresh,
  onChanged,
}: {
  workspaceId: string;
  canWrite: boolean;
  selected: WorkspaceFile | null;
  onRefresh: () => void;
  /** Something was written: the directories to list again and what happened. */
  onChanged: (
    dirs: string[],
    what: { created?: string; renamed?: { from: string; to: string }; deleted?: string },
  ) => void;
}) {
  const [prompt, setPrompt] = useState<Prompt>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  // Clears the file input after an upload, so choosing the same file again uploads it again.
  const resetUpload = useRef<() => void>(null);
  const dir = !selected ? '' : selected.type === 'dir' ? selected.path : parentOf(selected.path);
  const where = dir ? `${dir}/` : 'the workspace root';

  const ok = async (title: string, action: () => Promise<unknown>) =>
    (await attempt(action, title)) !== undefined;
  const create = (path: string) =>
    ok(`Could not create ${path}`, async () => {
      if (prompt === 'folder') await makeDir(workspaceId, path);
      else await writeFile(workspaceId, path, '');
      onChanged([parentOf(path)], prompt === 'file' ? { created: path } : {});
      return true;
    });
  const rename = (to: string) =>
    ok(`Could not rename ${selected?.name ?? ''}`, async () => {
      if (!selected) return false;
      await renamePath(workspaceId, selected.path, to);
      onChanged([parentOf(selected.path), parentOf(to)], { renamed: { from: selected.path, to } });
      return true;
    });
  const remove = () =>
    attempt(
      async () => {
        if (!selected) return;
        await deletePath(workspaceId, selected.path, selected.type === 'dir');
        onChanged([parentOf(selected.path)], { deleted: selected.path });
      },
      `Could not delete ${selected?.name ?? ''}`,
    );
  const upload = (files: File[]) =>
    attempt(async () => {
      resetUpload.current?.();
      if (files.length === 0) return;
      const { items } = await uploadFiles(workspaceId, dir, files);
      notifyOk(`Uploaded ${items.length === 1 ? items[0]?.path : `${items.length} files to ${where}`}.`);
      onChanged([dir], {});
    }, 'Upload failed');

  return (
    <Stack gap={6}>
      <Group gap={4} justify="space-between" wrap="nowrap">
        <Group gap={4} wrap="nowrap">
          {canWrite && (
            <>
              <Button size="compact-sm" variant="light" onClick={() => setPrompt('file')}>
                New file
              </Button>
              <Button size="compact-sm" variant="light" onClick={() => setPrompt('folder')}>
                New folder
              </Button>
              <FileButton onChange={upload} multiple resetRef={resetUpload}>
                {(props) => (
                  <Button size="compact-sm" variant="light" title={`Upload into ${where}`} {...props}>
                    Upload
                  </Button>
                )}
              </FileButton>
            </>
          )}
        </Group>
        <Tooltip label="List the files again">
          <ActionIcon variant="subtle" aria-label="Refresh files" onClick={onRefresh}>
            ↻
          </ActionIcon>
        </Tooltip>
      </Group>
      <Group
        gap={8}
        justify="space-between"
        wrap="nowrap"
        px={6}
        py={2}
        style={{ borderRadius: 4, background: 'var(--mantine-color-default-hover)' }}
      >
        <Text size="xs" className="mono" truncate title={selected?.path}>
          {selected ? selected.path : '/workspace'}
        </Text>
        <Group gap={8} wrap="nowrap">
          <Anchor
            size="xs"
            href={downloadUrl(workspaceId, selected?.path ?? '')}
            download
            aria-label={`Download ${selected?.path ?? 'the whole workspace'}`}
            title={selected?.type === 'file' ? 'Download the file' : 'Download the folder as .tar.gz'}
          >
            Download
          </Anchor>
          {canWrite && selected && (
            <>
              <Anchor
                size="xs"
                component="button"
                aria-label={`Rename ${selected.path}`}
                onClick={() => setPrompt('rename')}
              >
                Rename
              </Anchor>
              <Anchor
                size="xs"
                component="button"
                c="red"
                aria-label={`Delete ${selected.path}`}
                onClick={() => setConfirmDelete(true)}
              >
                Delete
              </Anchor>
            </>
          )}
        </Group>
      </Group>
      <NamePromptModal
        opened={prompt === 'file' || prompt === 'folder'}
        title={prompt === 'folder' ? 'New folder' : 'New file'}
        label="Path"
        description="Relative to /workspace."
        initial={dir ? `${dir}/` : ''}
        confirmLabel="Create"
        onSubmit={create}
        onClose={() => setPrompt(null)}
      />
      <NamePromptModal
        opened={prompt === 'rename'}
        title={`Rename ${selected?.name ?? ''}`}
        label="New path"
        description="Relative to /workspace; change the folder part to move it."
        initial={selected?.path ?? ''}
        confirmLabel="Rename"
        onSubmit={rename}
        onClose={() => setPrompt(null)}
      />
      <ConfirmModal
        opened={confirmDelete}
        title={`Delete ${selected?.name ?? ''}?`}
        confirmLabel="Delete"
        onConfirm={remove}
        onClose={() => setConfirmDelete(false)}
      >
        <Text size="sm">
          <span className="mono">{selected?.path}</span>
          {selected?.type === 'dir' ? ' and everything in it' : ''} will be deleted from the workspace. This
          cannot be undone.
        </Text>
      </ConfirmModal>
    </Stack>
  );
}
