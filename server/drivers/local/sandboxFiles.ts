import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The workspace user's name and home inside every box. */
export const SANDBOX_USER = 'user';
export const SANDBOX_HOME = '/home/user';
export const SANDBOX_HOSTNAME = 'workspace';

/** The generated files that replace the host's account and name databases inside the box. */
export interface SandboxEtcFiles {
  passwd: string;
  group: string;
  hosts: string;
}

/**
 * The box's /etc/passwd, /etc/group and /etc/hosts. Only the workspace user, root and nobody
 * exist, so tools that look up the current user (git, ssh, npm) work without the host's
 * accounts leaking in. Root and nobody are listed because files the box does not own show up as
 * the overflow id 65534 and some tools expect uid 0 to have a name.
 */
export function sandboxFiles(uid: number, gid: number): SandboxEtcFiles {
  return {
    passwd: [
      'root:x:0:0:root:/root:/usr/sbin/nologin',
      `${SANDBOX_USER}:x:${uid}:${gid}:Workspace user:${SANDBOX_HOME}:/bin/bash`,
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
      '',
    ].join('\n'),
    group: ['root:x:0:', `${SANDBOX_USER}:x:${gid}:`, 'nogroup:x:65534:', ''].join('\n'),
    hosts: [`127.0.0.1 localhost ${SANDBOX_HOSTNAME}`, '::1 localhost', ''].join('\n'),
  };
}

/** How a top-level directory of the host root looks, so the box can mirror it. */
export type TopLevelEntry = { name: string; kind: 'symlink'; target: string } | { name: string; kind: 'dir' };

/** The parts of the host the box mirrors read-only. */
export interface HostLayout {
  /** /bin, /lib, /lib64, /sbin as the host has them (merged-/usr systems: symlinks into /usr). */
  topLevel: TopLevelEntry[];
  /** Names of host /etc entries to bind read-only at the same place in the box. */
  etc: string[];
}

const TOP_LEVEL = ['bin', 'lib', 'lib64', 'sbin'];
/**
 * The host's /etc entries a box needs: the dynamic linker cache, TLS roots, Debian's
 * alternatives symlinks (/usr/bin/editor and friends point into it), name-service switch and the
 * time zone. Everything else of the host's /etc stays out of the box.
 */
const ETC_ENTRIES = ['ld.so.cache', 'ssl', 'alternatives', 'nsswitch.conf', 'localtime'];

/** Reads the host's layout under `root` (a parameter so tests can fake a host). */
export async function hostLayout(root = '/'): Promise<HostLayout> {
  const topLevel: TopLevelEntry[] = [];
  for (const name of TOP_LEVEL) {
    const st = await lstat(join(root, name)).catch(() => undefined);
    if (st?.isSymbolicLink())
      topLevel.push({ name, kind: 'symlink', target: await readlink(join(root, name)) });
    else if (st?.isDirectory()) topLevel.push({ name, kind: 'dir' });
  }
  const etcDir = join(root, 'etc');
  const present = new Set(await readdir(etcDir).catch(() => [] as string[]));
  const names = [...ETC_ENTRIES, ...[...present].filter((n) => n.startsWith('ca-certificates')).sort()];
  return { topLevel, etc: names.filter((n) => present.has(n)) };
}
