import { opError, RpcError } from '../sdk/rpcPeer.js';

/**
 * Turns a file-system error into the RpcError the server maps to an HTTP status. Messages name
 * the workspace-relative path, never the absolute one, because they are shown to users.
 */
export function fsError(err: unknown, rel: string): RpcError {
  if (err instanceof RpcError) return err;
  const shown = rel === '' ? 'The workspace directory' : `"${rel}"`;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return opError('not_found', `${shown} does not exist.`);
    case 'ENOTDIR':
      return opError('not_a_directory', `${shown} is not a directory, or a part of its path is not.`);
    case 'EISDIR':
      return opError('is_a_directory', `${shown} is a directory.`);
    case 'EEXIST':
      return opError('exists', `${shown} already exists.`);
    case 'ENOTEMPTY':
      return opError('exists', 'the directory is not empty; pass recursive');
    case 'ELOOP':
      return opError('invalid_path', `${shown} goes through too many symbolic links.`);
    case 'ENAMETOOLONG':
      return opError('invalid_path', `${shown} is too long a path.`);
    case 'EINVAL':
      return opError(
        'invalid_path',
        `${shown} cannot be used here (for example, a directory moved into itself).`,
      );
    case 'EBUSY':
    case 'ETXTBSY':
      return opError('busy', `${shown} is in use.`);
    case 'EACCES':
    case 'EPERM':
      return opError('internal', `Permission denied for ${shown}.`);
    case 'ENOSPC':
    case 'EDQUOT':
      return opError('internal', 'The workspace disk is full.');
    default:
      return opError('internal', `${shown} could not be accessed (${code ?? 'unexpected error'}).`);
  }
}
