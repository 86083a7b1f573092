import { spawn } from 'node:child_process';
import { DriverError } from '../runtimeDriver.js';
import type { BoxPaths } from './boxPaths.js';
import { BOX_FDS } from './bwrapArgs.js';

/**
 * The launcher, run by /bin/sh as root in a new session (spawn's `detached`). It backgrounds a
 * waiting shell and exits at once, so the waiter (and the box under it) is reparented to init
 * and never is a child of the control plane: killing the control plane, even with SIGKILL,
 * leaves boxes running. The waiter's files are private (umask 077); the box sets its own umask.
 * Parameters: $1 the waiter's script, then the waiter's parameters.
 */
const LAUNCHER = `
umask 077
waiter=$1; shift
/bin/bash -c "$waiter" rc-wait "$@" </dev/null >/dev/null 2>>"$2/launch.log" &
`;

/**
 * The waiter starts the box (below), records the box's and its own pid with their start times
 * (field 22 of /proc/<pid>/stat, to tell a reused pid apart), waits, and records the exit status.
 * It stays outside the box's cgroup: it is root, must not count against the box's pids, and must
 * not be killed by `stop`. It first closes every descriptor but stdin, stdout and stderr: the
 * control plane may have inherited some without close-on-exec (a pipe from whatever started it),
 * and bwrap hands all open descriptors on to the box. bash, because dash cannot name fds > 9.
 * Parameters: $1 the box's script, $2 the runtime dir, then the box's.
 */
const WAITER = `
for fd in /proc/$$/fd/*; do
  fd=\${fd##*/}
  if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
done
box=$1; rt=$2; shift 2
/bin/sh -c "$box" rc-box "$@" \\
  ${BOX_FDS.status}>"$rt/status.json" ${BOX_FDS.args}<"$rt/bwrap.args" ${BOX_FDS.passwd}<"$rt/passwd" \\
  ${BOX_FDS.group}<"$rt/group" ${BOX_FDS.hosts}<"$rt/hosts" >>"$rt/agent.log" 2>&1 &
pid=$!
read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ st _ <"/proc/$pid/stat"
read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ wst _ <"/proc/$$/stat"
echo "$pid $st $$ $wst" >"$rt/pid.tmp" && mv -f "$rt/pid.tmp" "$rt/pid"
wait "$pid"
echo $? >"$rt/exit.tmp" && mv -f "$rt/exit.tmp" "$rt/exit"
`;

/**
 * The box's first process: it writes its own pid into every cgroup's `cgroup.procs` and only
 * then execs setpriv → bwrap, so nothing of the box ever runs outside its limits. The box gets
 * the usual umask 022 whatever the control plane's is. Parameters:
 * $1 the count N of cgroup.procs files, the N files, then the argv to exec.
 */
const BOX = `
umask 022
n=$1; shift
while [ "$n" -gt 0 ]; do
  echo $$ >"$1" || exit 125
  shift; n=$((n - 1))
done
exec "$@"
`;

/** A fixed, minimal environment: the control plane's own (with its secrets) never reaches a box. */
const LAUNCHER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

/**
 * Starts the launcher and resolves once it has handed the box to its waiting shell (a few
 * milliseconds). It does not wait for the box: the caller watches the runtime files for that.
 * @throws DriverError `start_failed` when the launcher cannot run.
 */
export async function launchBox(paths: BoxPaths, procsFiles: string[], argv: string[]): Promise<void> {
  const params = [WAITER, BOX, paths.runtime, String(procsFiles.length), ...procsFiles, ...argv];
  const child = spawn('/bin/sh', ['-c', LAUNCHER, 'rc-launch', ...params], {
    detached: true,
    stdio: 'ignore',
    env: LAUNCHER_ENV,
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).catch((err: unknown) => {
    throw new DriverError({
      reason: 'start_failed',
      userMessage: 'The workspace box launcher could not run /bin/sh.',
      cause: err,
    });
  });
  if (code !== 0) {
    throw new DriverError({
      reason: 'start_failed',
      userMessage: `The workspace box launcher failed (exit status ${code}).`,
    });
  }
}
