// One node daemon per run dir: a second one would take the first one's agent sockets over (it
// removes and re-creates them). The lock is a pid file made with O_EXCL; one whose process is gone
// (a daemon killed with SIGKILL) is taken over.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Another daemon holds the run dir. */
export class RunDirLockedError extends Error {}

export async function lockRunDir(runDir: string): Promise<() => Promise<void>> {
  await mkdir(runDir, { recursive: true, mode: 0o755 });
  const path = join(runDir, '.rclaude-node.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o644);
      await file.writeFile(String(process.pid));
      await file.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(path, 'utf8').catch(() => '0'));
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new RunDirLockedError(`another rclaude node (pid ${pid}) already uses --run-dir ${runDir}`);
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock --run-dir ${runDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
