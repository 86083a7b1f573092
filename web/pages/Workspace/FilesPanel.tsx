// The Files tab: the tree with its toolbar on the left (on top on a phone) and the open file on
// the right. The owner's page watches /workspace and lists changed directories again, so files
// written by a terminal or a task appear by themselves; others refresh by hand.
import { Alert, Card, Center, Grid, ScrollArea, Text } from '@mantine/core';
import { useCallback, useRef, useState } from 'react';
import { ConfirmModal } from './ConfirmModal.js';
import { FileEditor } from './FileEditor.js';
import { FileToolbar } from './FileToolbar.js';
import { FileTree } from './FileTree.js';
import { parentOf, type WorkspaceFile } from './fileApi.js';
import { useDirListings } from './useDirListings.js';
import { type FileChange, useFileWatch } from './useFileWatch.js';

export function FilesPanel({ workspaceId, canWrite }: { workspaceId: string; canWrite: boolean }) {
  const { listings, loading, rootError, load, refresh } = useDirListings(workspaceId);
  const [selectedPath, setSelectedPath] = useState<string | null>(null);
  const [open, setOpen] = useState<WorkspaceFile | null>(null);
  const [pending, setPending] = useState<WorkspaceFile | null>(null);
  const [changeTick, setChangeTick] = useState(0);
  const dirty = useRef(false);
  const onDirtyChange = useCallback((d: boolean) => {
    dirty.current = d;
  }, []);
  const openPath = useRef<string | null>(null);
  openPath.current = open?.path ?? null;

  const entryAt = (path: string | null) =>
    path === null ? null : (listings[parentOf(path)]?.find((e) => e.path === path) ?? null);
  const selected = entryAt(selectedPath);

  const openFile = (entry: WorkspaceFile) => {
    if (entry.path === openPath.current) return;
    if (dirty.current) setPending(entry);
    else setOpen(entry);
  };
  const activate = (entry: WorkspaceFile) => {
    setSelectedPath(entry.path);
    if (entry.type === 'file') openFile(entry);
  };

  useFileWatch(workspaceId, canWrite, (changes: FileChange[]) => {
    if (changes.some((c) => c.path === '')) void refresh();
    else
      void refresh(
        changes.flatMap((c) => (c.kind === 'rename' ? [parentOf(c.path), c.path] : [parentOf(c.path)])),
      );
    if (changes.some((c) => c.path === openPath.current)) setChangeTick((t) => t + 1);
  });

  const onChanged = (
    dirs: string[],
    what: { created?: string; renamed?: { from: string; to: string }; deleted?: string },
  ) => {
    void refresh(dirs);
    const { created, renamed, deleted } = what;
    if (created) {
      setSelectedPath(created);
      openFile({
        name: created.split('/').pop() ?? created,
        path: created,
        type: 'file',
        size: 0,
        modifiedAt: '',
        mode: '644',
      });
    }
    if (renamed) {
      setSelectedPath(renamed.to);
      const o = openPath.current;
      if (o && (o === renamed.from || o.startsWith(`${renamed.from}/`))) {
        const path = renamed.to + o.slice(renamed.from.length);
        setOpen((prev) => prev && { ...prev, path, name: path.split('/').pop() ?? path });
      }
    }
    if (deleted) {
      setSelectedPath(null);
      const o = openPath.current;
      if (o && (o === deleted || o.startsWith(`${deleted}/`))) setOpen(null);
    }
  };

  return (
    <Grid gap="md">
      <Grid.Col span={{ base: 12, md: 4 }}>
        <Card withBorder padding="sm">
          {!canWrite && (
            <Alert color="gray" p="xs" mb="xs">
              <Text size="xs">Read-only: only the workspace's owner may change its files.</Text>
            </Alert>
          )}
          <FileToolbar
            workspaceId={workspaceId}
            canWrite={canWrite}
            selected={selected}
            onRefresh={() => void refresh()}
            onChanged={onChanged}
          />
          <ScrollArea.Autosize mah={{ base: 320, md: 560 }} mt="xs" type="auto">
            {rootError ? (
              <Alert color="red">{rootError}</Alert>
            ) : !listings[''] ? (
              <Text size="sm" c="dimmed" p="xs">
                Loading…
              </Text>
            ) : (
              <FileTree
                listings={listings}
                loading={loading}
                onExpand={(dir) => listings[dir] === undefined && void load(dir)}
                selected={selectedPath}
                onActivate={activate}
              />
            )}
          </ScrollArea.Autosize>
        </Card>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 8 }} miw={0}>
        {open ? (
          <FileEditor
            key={open.path}
            workspaceId={workspaceId}
            entry={open}
            canWrite={canWrite}
            changeTick={changeTick}
            onDirtyChange={onDirtyChange}
          />
        ) : (
          <Card withBorder h="100%" mih={160}>
            <Center h="100%">
              <Text c="dimmed" size="sm">
                Choose a file in the tree to open it.
              </Text>
            </Center>
          </Card>
        )}
      </Grid.Col>
      <ConfirmModal
        opened={pending !== null}
        title="Discard your changes?"
        confirmLabel="Discard and open"
        onConfirm={async () => setOpen(pending)}
        onClose={() => setPending(null)}
      >
        <Text size="sm">
          {open?.name} has unsaved changes. Opening {pending?.name} discards them.
        </Text>
      </ConfirmModal>
    </Grid>
  );
}
