// One open file: its text in Monaco (loaded lazily), saved with the Save button or Ctrl/⌘+S
// (PUT, atomic on the server), with its saved/unsaved state. A save carries the ETag of the
// version the edits started from (If-Match), so it never silently replaces a change made on disk
// meanwhile: the user chooses between reloading and overwriting. Binary and large files are not
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
import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../../../sdk/client/apiError.js';
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
  /** The file changed on disk under unsaved edits (seen by the watch, or a save refused with 412). */
  const [conflict, setConflict] = useState(false);
  const [replace, setReplace] = useState<{ text: string; version: number }>();
  const replacements = useRef(0);
  /** The ETag of the version on disk that `saved` is. */
  const etag = useRef<string | undefined>(undefined);
  const dirty = loaded?.kind === 'text' && text !== saved;
  const state = useRef({ text, saved, dirty });
  state.current = { text, saved, dirty };

  /** Shows `t` as the saved text, replacing the editor's. */
  const takeFromDisk = useCallback((t: string, tag: string | undefined) => {
    etag.current = tag;
    setSaved(t);
    setText(t);
    replacements.current += 1;
    setReplace({ text: t, version: replacements.current });
  }, []);

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
      ({ text: t, etag: tag }) => {
        if (!live) return;
        if (looksBinary(t)) return setLoaded({ kind: 'binary' });
        etag.current = tag;
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
      ({ text: t, etag: tag }) => {
        const now = state.current;
        if (!live) return;
        // The same bytes (our own save, or a rewrite of them): the edits still start from them.
        if (t === now.saved) etag.current = tag;
        else if (now.dirty) setConflict(true);
        else takeFromDisk(t, tag);
      },
      () => {},
    );
    return () => {
      live = false;
    };
  }, [changeTick, workspaceId, entry.path, tooLarge, takeFromDisk]);

  /** Saves the edits; `overwrite` drops the If-Match, replacing whatever is on disk now. */
  const save = async (overwrite = false) => {
    const { text: now, dirty: isDirty } = state.current;
    if (!canWrite || !isDirty) return;
    setSaving(true);
    try {
      const written = await writeFile(workspaceId, entry.path, now, overwrite ? undefined : etag.current);
      etag.current = written.etag;
      setSaved(now);
      setConflict(false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) setConflict(true);
      else notifyError(e, `Could not save ${entry.name}`);
    } finally {
      setSaving(false);
    }
  };

  /** Drops the edits for the file as it is on disk now. */
  const reload = async () => {
    try {
      const { text: t, etag: tag } = await readFile(workspaceId, entry.path);
      takeFromDisk(t, tag);
      setConflict(false);
    } catch (e) {
      notifyError(e, `Could not reload ${entry.name}`);
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
          <Button
            size="compact-sm"
            onClick={() => save()}
            disabled={!dirty}
            loading={saving}
            title="Ctrl+S / ⌘S"
          >
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
      {conflict && (
        <Alert color="yellow" mb="xs" title="This file changed on disk since you opened it">
          <Text size="sm" mb="xs">
            Reload it to see that version and drop your edits, or overwrite it with yours.
          </Text>
          <Group gap="xs">
            <Button size="compact-sm" variant="default" onClick={reload} disabled={saving}>
              Reload
            </Button>
            {canWrite && (
              <Button size="compact-sm" color="yellow" onClick={() => save(true)} loading={saving}>
                Overwrite
              </Button>
            )}
          </Group>
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
              onSave={() => save()}
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
