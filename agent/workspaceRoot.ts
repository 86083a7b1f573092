import { mkdir, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { RelPath } from '../sdk/agentProtocol.js';
import { opError } from '../sdk/rpcPeer.js';
import { fsError } from './fsError.js';

/**
 * The workspace directory, and the rule that file operations stay inside it. Paths arrive
 * relative (RelPath) and symlinks are resolved before use, so a link to /etc is refused rather
 * than followed. This gives the API clear semantics; it is not the security boundary (the
 * sandbox is): the agent runs as the workspace user, so a link swapped between the check and the
 * use reaches only what that user could reach anyway.
 */
export class WorkspaceRoot {
  private constructor(readonly dir: string) {}

  /** Throws when `dir` does not exist. */
  static async open(dir: string): Promise<WorkspaceRoot> {
    return new WorkspaceRoot(await realpath(dir));
  }

  /** `rel` with every symlink followed. Throws not_found, outside_workspace, invalid_path. */
  async resolve(rel: string): Promise<string> {
    const abs = this.lexical(rel);
    let real: string;
    try {
      real = await realpath(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') await this.ensureNoLinkOut(abs, rel);
      throw fsError(err, rel);
    }
    this.ensureInside(real, rel);
    return real;
  }

  /**
   * A path that does not resolve may still name a link that points out of the workspace (a
   * dangling one, say to another workspace's host directory): that is refused as leading outside,
   * not reported as missing.
   */
  private async ensureNoLinkOut(abs: string, rel: string): Promise<void> {
    let dir = this.dir;
    for (const part of path.relative(this.dir, abs).split(path.sep)) {
      const here = path.join(dir, part);
      let target: string;
      try {
        target = await readlink(here);
      } catch {
        dir = here;
        continue;
      }
      const pointsTo = path.resolve(dir, target);
      if (!this.isInside(pointsTo)) this.ensureInside(pointsTo, rel);
      dir = pointsTo;
    }
  }

  /**
   * The entry `rel` names, its last component not followed (so a symlink can be listed, renamed
   * or deleted as itself); its parent is resolved and must be inside. Need not exist.
   */
  async entry(rel: string): Promise<string> {
    const abs = this.lexical(rel);
    if (abs === this.dir) return this.dir;
    const parent = await this.resolve(parentOf(rel));
    return path.join(parent, path.basename(abs));
  }

  /**
   * `mkdir -p rel`: the deepest existing ancestor is resolved and must be inside, then the rest
   * is created below it. Returns the directory's real path.
   */
  async mkdirs(rel: string): Promise<string> {
    const abs = this.lexical(rel);
    let existing = abs;
    let real: string | undefined;
    while (real === undefined) {
      try {
        real = await realpath(existing);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' || existing === this.dir) throw fsError(err, rel);
        existing = path.dirname(existing);
      }
    }
    this.ensureInside(real, rel);
    const target = path.join(real, path.relative(existing, abs));
    try {
      await mkdir(target, { recursive: true });
    } catch (err) {
      throw fsError(err, rel);
    }
    return target;
  }

  /** The workspace-relative form of an absolute path inside the workspace. */
  relative(abs: string): string {
    return path.relative(this.dir, abs);
  }

  isInside(real: string): boolean {
    return real === this.dir || this.dir === '/' || real.startsWith(`${this.dir}/`);
  }

  private ensureInside(real: string, rel: string): void {
    if (!this.isInside(real)) {
      throw opError('outside_workspace', `"${rel}" leads outside the workspace through a symbolic link.`);
    }
  }

  private lexical(rel: string): string {
    // The schema already checked this; checking again keeps the rule next to its use.
    const parsed = RelPath.safeParse(rel);
    if (!parsed.success) {
      throw opError(
        'invalid_path',
        `"${rel}" is not a path inside the workspace: ${parsed.error.issues[0]?.message}.`,
      );
    }
    return path.join(this.dir, rel);
  }
}

/** The parent of a relative path; "" (the workspace) for a top-level entry. */
export function parentOf(rel: string): string {
  const parent = path.posix.dirname(rel);
  return parent === '.' || parent === '/' ? '' : parent;
}
