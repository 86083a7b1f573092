/**
 * Every host path a box binds, gathered where the workspace user can reach it.
 *
 * bwrap runs as the workspace's own unprivileged uid and resolves its bind sources with that uid's
 * rights, so a checkout or data dir below a directory others cannot traverse (`mktemp -d`, /root)
 * could not be bound. bwrap 0.8's `--bind-fd` does not help: it still resolves the descriptor's
 * path as that uid (tried here: "Can't find source path /proc/self/fd/8: Permission denied").
 * So, still as root, the box's first process enters a mount namespace of its own (private: nothing
 * leaks to the host), opens every source, mounts a small tmpfs on /tmp and bind-mounts each source
 * there through its descriptor (the sources may themselves live under /tmp), then drops to the
 * workspace uid and runs bwrap, which binds from /tmp/<name>. bwrap then mounts its own tmpfs on
 * /tmp as its root and sees the staging tmpfs under its old root, so the box never sees it.
 * Only the ancestors stop mattering: the files themselves must still be readable by others
 * (see assetAccess.ts).
 */

/** Where the staging tmpfs is mounted inside the box's private mount namespace. */
export const STAGE_DIR = '/tmp';

/** One bind source: a directory or a file on the host, staged as `/tmp/<name>`. */
export interface StageEntry {
  name: 'workspace' | 'home' | 'agent-socket' | 'agent' | 'node' | 'claude';
  kind: 'dir' | 'file';
  source: string;
}

export function stagedPath(name: StageEntry['name']): string {
  return `${STAGE_DIR}/${name}`;
}

/**
 * The staging script, run by bash as root (bash, because dash cannot allocate descriptors above
 * 9). It opens every source first, so none is hidden by the tmpfs, and closes its descriptors
 * before exec: bwrap hands every open descriptor on to the box. Its errors go to the box's log,
 * where `waitForStart` finds the first line. Parameters: $1 the staging dir, $2 the count N of
 * entries, N triples (kind, name, source), then the argv to exec.
 */
const STAGE = `
set -u
dir=$1; n=$2; shift 2
fds=(); names=(); dirs=()
while [ "$n" -gt 0 ]; do
  if ! { exec {fd}<"$3"; } 2>/dev/null; then
    echo "cannot open the bind source $3 (missing, or unreadable even by root)" >&2; exit 125
  fi
  fds+=("$fd"); names+=("$2")
  if [ "$1" = dir ]; then dirs+=("$dir/$2"); fi
  shift 3; n=$((n - 1))
done
mount -t tmpfs -o mode=0755,size=64k,nodev,nosuid,noexec rc-stage "$dir" || exit 125
if [ "\${#dirs[@]}" -gt 0 ]; then mkdir -m 0755 "\${dirs[@]}" || exit 125; fi
for i in "\${!fds[@]}"; do
  target=$dir/\${names[i]}
  [ -e "$target" ] || : >"$target" || exit 125
  mount --bind --no-canonicalize "/proc/self/fd/\${fds[i]}" "$target" || exit 125
  fd=\${fds[i]}; exec {fd}<&-
done
exec "$@"
`;

/** The argv that stages `entries` in a private mount namespace, then execs `argv`. */
export function stageArgv(entries: readonly StageEntry[], argv: readonly string[]): string[] {
  return [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/bash',
    '-c',
    STAGE,
    'rc-stage',
    STAGE_DIR,
    String(entries.length),
    ...entries.flatMap((e) => [e.kind, e.name, e.source]),
    ...argv,
  ];
}
