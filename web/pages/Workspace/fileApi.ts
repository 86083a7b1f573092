// Calls on a workspace's files (/api/v1/workspaces/:id/files/<path>, paths relative to
// /workspace), through the sdk client (sdk/client/filesApi.ts), which encodes each path segment
// on its own so names with spaces, "#" or "?" reach the server as names.
import type { z } from 'zod';
import type { FileEntry } from '../../../sdk/workspaceWire.js';
import { api } from '../../api/client.js';

export type WorkspaceFile = z.infer<typeof FileEntry>;

/** A link that downloads a file, or a directory as tar.gz. */
export const downloadUrl = (workspaceId: string, path: string) => api.files.downloadUrl(workspaceId, path);

export const listDir = (workspaceId: string, dir: string) => api.files.list(workspaceId, dir);

/** A file's text and its ETag, to save it with (`writeFile`'s `ifMatch`). */
export const readFile = (workspaceId: string, path: string) => api.files.readText(workspaceId, path);

/**
 * Writes text as the file's raw bytes; the server replaces the file atomically. With `ifMatch`
 * (the ETag from `readFile`), only if the file is unchanged since: else ApiError 412.
 */
export const writeFile = (workspaceId: string, path: string, text: string, ifMatch?: string) =>
  api.files.write(workspaceId, path, new Blob([text], { type: 'application/octet-stream' }), { ifMatch });

export const uploadFiles = (workspaceId: string, dir: string, files: File[]) =>
  api.files.upload(workspaceId, dir, files);

export const makeDir = (workspaceId: string, path: string) => api.files.mkdir(workspaceId, path);

export const renamePath = (workspaceId: string, from: string, to: string) =>
  api.files.rename(workspaceId, from, to);

export const deletePath = (workspaceId: string, path: string, recursive: boolean) =>
  api.files.delete(workspaceId, path, { recursive });

/** The directory part of a path ("" for a top-level name). */
export const parentOf = (path: string) => path.split('/').slice(0, -1).join('/');
