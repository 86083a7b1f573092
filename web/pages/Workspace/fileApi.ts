// Calls on a workspace's files (/api/v1/workspaces/:id/files/<path>, paths relative to
// /workspace). Each path segment is encoded on its own, so names with spaces, "#" or "?" reach
// the server as names and never as URL syntax.
import type { z } from 'zod';
import type { FileEntry, FileListing } from '../../../sdk/workspaceWire.js';
import { api, apiText, qs } from '../../api/http.js';

export type WorkspaceFile = z.infer<typeof FileEntry>;
type Listing = z.infer<typeof FileListing>;

export function filesUrl(workspaceId: string, path: string, query = ''): string {
  const encoded = path.split('/').filter(Boolean).map(encodeURIComponent).join('/');
  return `/api/v1/workspaces/${workspaceId}/files/${encoded}${query}`;
}

/** A link that downloads a file, or a directory as tar.gz. */
export const downloadUrl = (workspaceId: string, path: string) =>
  filesUrl(workspaceId, path, qs({ download: true }));

export const listDir = (workspaceId: string, dir: string) => api<Listing>('GET', filesUrl(workspaceId, dir));

export const readFile = (workspaceId: string, path: string) => apiText(filesUrl(workspaceId, path));

/** Writes text as the file's raw bytes; the server replaces the file atomically. */
export const writeFile = (workspaceId: string, path: string, text: string) =>
  api<{ path: string; size: number }>(
    'PUT',
    filesUrl(workspaceId, path),
    new Blob([text], { type: 'application/octet-stream' }),
  );

export function uploadFiles(workspaceId: string, dir: string, files: File[]) {
  const form = new FormData();
  for (const f of files) form.append('file', f, f.name);
  return api<{ items: { path: string; size: number }[] }>('POST', filesUrl(workspaceId, dir), form);
}

export const makeDir = (workspaceId: string, path: string) =>
  api<void>('POST', filesUrl(workspaceId, path), { op: 'mkdir' });

export const renamePath = (workspaceId: string, from: string, to: string) =>
  api<void>('POST', filesUrl(workspaceId, from), { op: 'rename', to });

export const deletePath = (workspaceId: string, path: string, recursive: boolean) =>
  api<void>('DELETE', filesUrl(workspaceId, path, qs({ recursive: recursive || undefined })));

/** The directory part of a path ("" for a top-level name). */
export const parentOf = (path: string) => path.split('/').slice(0, -1).join('/');
