// One open file: its text in Monaco (loaded lazily), saved with the Save button or Ctrl/⌘+S
// (PUT, atomic on the server), with its saved/unsaved state. Binary and large files are not
// loaded into the editor; they get a download link instead.
import {
  Alert,
  Anchor,
  Badge,
  Box,
  Button,
  Center,
  Group,
  Loader,
  Text,
  useComputedColorScheme,
} from '@mantine/core';
import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { formatBytes } from '../../lib/format.js';
import { notifyError } from '../../lib/notify.js';
import { downloadUrl, readFile, type WorkspaceFile, writeFile } from './fileApi.js';
import { languageOf } from './languageOf.js';

const MonacoEditor = lazy(() => import('./MonacoEditor.js'));

/** Past this, a file is offered as a download: Monaco slows down and nobody edits it by hand. */
const MAX_EDITABLE = 2 * 1024 * 1024;

type Loaded = { kind: 'text' } | { kind: 'binary' } | { kind: 'error'; message: string };

/** Bytes that are not UTF-8 text decode to U+FFFD; NUL bytes do not occur in text files. */
const looksBinary = (text: string) => text.includes('\u0000') || text.includes('\uFFFD');

export function FileEditor({
  workspaceId,
  entry,
  canWrite,
  changeTick,
  onDirtyChange,
}: {
  workspaceId: string;
  entry: WorkspaceFile;
  canWrite: boolean;
  /** Goes up whenever the watch reports a change of this file. */
  changeTick: number;
  onDirtyChange: (dirty: boolean) => void;
}) {
  const dark = useComputedColorScheme('light') === 'dark';
  const tooLarge = entry.size > MAX_EDITABLE;
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [text, setText] = useState('');
  const [saved, setSaved] = useState('');
  const [saving, setSaving] = useState(false);
  const [staleOnDisk, setStaleOnDisk] = useState(false);
  const [replace, setReplace] = useState<{ text: string; version: number }>();
  const dirty = loaded?.kind === 'text' && text !== saved;
  const state = useRef({ text, saved, dirty });
  state.current = { text, saved, dirty };

  useEffect(() => onDirtyChange(dirty), [dirty, onDirtyChange]);
  // A closed editor has nothing unsaved; and while something is, leaving the page asks first.
  useEffect(() => () => onDirtyChange(false), [onDirtyChange]);
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  useEffect(() => {
    if (tooLarge) return;
    let live = true;
    readFile(workspaceId, entry.path).then(
      (t) => {
        if (!live) return;
        if (looksBinary(t)) return setLoaded({ kind: 'binary' });
        setText(t);
        setSaved(t);
        setLoaded({ kind: 'text' });
      },
      (e: Error) => live && setLoaded({ kind: 'error', message: e.message }),
    );
    return () => {
      live = false;
    };
  }, [workspaceId, entry.path, tooLarge]);

  // The file changed on disk: take the new text unless there are unsaved edits (then warn).
  useEffect(() => {
    if (changeTick === 0 || tooLarge) return;
    let live = true;
    readFile(workspaceId, entry.path).then(
      (t) => {
        const now = state.current;
        if (!live || t === now.saved) return;
        if (now.dirty) return setStaleOnDisk(true);
        setSaved(t);
        setText(t);
        setReplace({ text: t, version: changeTick });
      },
      () => {},
    );
    return () => {
      live = false;
    };
  }, [changeTick, workspaceId, entry.path, tooLarge]);

  const save = async () => {
    const { text: now, dirty: isDirty } = state.current;
    if (!canWrite || !isDirty) return;
    setSaving(true);
    try {
      await writeFile(workspaceId, entry.path, now);
      setSaved(now);
      setStaleOnDisk(false);
    } catch (e) {
      notifyError(e, `Could not save ${entry.name}`);
    } finally {
      setSaving(false);
    }
  };

  const download = (
    <Anchor href={downloadUrl(workspaceId, entry.path)} size="sm" download>
      Download
    </Anchor>
  );
  const header = (
    <Group justify="space-between" gap="xs" wrap="nowrap" mb="xs">
      <Text size="sm" fw={500} className="mono" truncate title={entry.path}>
        {entry.path}
      </Text>
      <Group gap="xs" wrap="nowrap">
        {loaded?.kind === 'text' &&
          (!canWrite ? (
            <Badge color="gray" variant="light">
              Read-only
            </Badge>
          ) : saving ? (
            <Badge color="blue" variant="light">
              Saving…
            </Badge>
          ) : dirty ? (
            <Badge color="yellow" variant="light">
              Unsaved
            </Badge>
          ) : (
            <Badge color="green" variant="light">
              Saved
            </Badge>
          ))}
        {download}
        {canWrite && loaded?.kind === 'text' && (
          <Button size="compact-sm" onClick={save} disabled={!dirty} loading={saving} title="Ctrl+S / ⌘S">
            Save
          </Button>
        )}
      </Group>
    </Group>
  );

  if (tooLarge || loaded?.kind === 'binary')
    return (
      <Box>
        {header}
        <Alert color="gray" title={tooLarge ? 'Too large to edit here' : 'Not a text file'}>
          {entry.name} ({formatBytes(entry.size)}) is not opened in the editor. {download} it instead.
        </Alert>
      </Box>
    );
  if (loaded?.kind === 'error')
    return (
      <Box>
        {header}
        <Alert color="red">{loaded.message}</Alert>
      </Box>
    );
  return (
    <Box>
      {header}
      {staleOnDisk && (
        <Alert color="yellow" mb="xs">
          This file changed on disk after you started editing; saving replaces that version.
        </Alert>
      )}
      <Box h={{ base: 380, md: 560 }} style={{ border: '1px solid var(--mantine-color-default-border)' }}>
        {loaded ? (
          <Suspense fallback={<EditorLoader />}>
            <MonacoEditor
              initialValue={text}
              language={languageOf(entry.path)}
              readOnly={!canWrite}
              dark={dark}
              onChange={setText}
              onSave={save}
              replaceWith={replace}
            />
          </Suspense>
        ) : (
          <EditorLoader />
        )}
      </Box>
    </Box>
  );
}

function EditorLoader() {
  return (
    <Center h="100%">
      <Loader size="sm" aria-label="Loading the editor" />
    </Center>
  );
}
