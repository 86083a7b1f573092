import { access, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { realDeadline } from '../../clock.js';
import { DriverError } from '../runtimeDriver.js';
import type { BoxPaths } from './boxPaths.js';
import { type BoxExit, firstLine, isAlive, readBoxExit, readBoxProcess } from './boxProcess.js';
import { type BoxCgroup, signalAll } from './cgroupFiles.js';

/** How often the driver looks at a box: fast enough that a box starts in tens of ms. */
const POLL_MS = 2;
const START_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 5_000;
const EXIT_RECORD_TIMEOUT_MS = 1_000;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One box as seen from its runtime files and its cgroup: whether it runs, how it ended, and how
 * to wait for it and stop it. Holds no state of its own, so any driver instance can build one.
 */
export class LocalBox {
  constructor(
    private readonly paths: BoxPaths,
    /** Undefined when the host has no usable cgroups; the main pid is then all there is. */
    private readonly cgroup: BoxCgroup | undefined,
  ) {}

  /** The main process lives, or anything at all is left in the box's cgroup. */
  async isRunning(): Promise<boolean> {
    const main = await readBoxProcess(this.paths);
    if (main && (await isAlive(main))) return true;
    return ((await this.cgroup?.pids()) ?? []).length > 0;
  }

  /**
   * Waits until the box's command runs: bwrap's outer process, its pid-1 reaper and the command
   * make three processes in the cgroup, and the reaper forks the command only after every mount
   * succeeded. A box that ends first counts as started if the command ran (bwrap reported its
   * exit code), and as failed if bwrap gave up during setup.
   * @throws DriverError `start_failed` with bwrap's first error line, or after 15 s.
   */
  async waitForStart(): Promise<void> {
    const deadline = realDeadline(START_TIMEOUT_MS);
    for (;;) {
      const exit = await readBoxExit(this.paths);
      if (exit?.ran) return;
      if (exit) {
        const line = (await firstLine(this.paths.log)) ?? `bwrap exited with status ${exit.code}`;
        throw new DriverError({
          reason: 'start_failed',
          userMessage: `The workspace box failed to start: ${line}`,
        });
      }
      if ((await readBoxProcess(this.paths)) && ((await this.cgroup?.pids()) ?? []).length >= 3) return;
      if (deadline.passed()) {
        // The start_failed below is what the user must see; a box that will not die is still in
        // its cgroup, where stop and remove find it.
        await this.terminate(0).catch(() => undefined);
        const line =
          (await firstLine(this.paths.launchLog)) ?? (await firstLine(this.paths.log)) ?? 'no output';
        throw new DriverError({
          reason: 'start_failed',
          userMessage: `The workspace box did not start within ${START_TIMEOUT_MS / 1000} s: ${line}`,
        });
      }
      await delay(POLL_MS);
    }
  }

  /**
   * SIGTERMs every process in the box except bwrap's outer process (so the status recorded is
   * the command's own), waits `graceSeconds`, then SIGKILLs until the box is empty.
   * @throws DriverError `internal` if processes survive SIGKILL for 5 s (stuck in the kernel).
   */
  async terminate(graceSeconds: number): Promise<void> {
    const main = await readBoxProcess(this.paths);
    if (!(await this.isRunning())) return;
    // Only words the stop reason ("stopped on request"); the stop itself goes on regardless.
    await writeFile(this.paths.stopRequested, '').catch(() => undefined);
    const inBox = ((await this.cgroup?.pids()) ?? []).filter((pid) => pid !== main?.pid);
    const targets = inBox.length > 0 ? inBox : main ? [main.pid] : [];
    signalAll(targets, 'SIGTERM');
    // A stopped (SIGSTOP) process would hold its SIGTERM until continued.
    signalAll(targets, 'SIGCONT');
    if (!(await this.waitStopped(graceSeconds * 1000))) {
      const deadline = realDeadline(KILL_TIMEOUT_MS);
      while (await this.isRunning()) {
        await this.cgroup?.killAll();
        if (main && (await isAlive(main))) signalAll([main.pid], 'SIGKILL');
        if (deadline.passed()) {
          throw new DriverError({
            reason: 'internal',
            userMessage: 'The workspace box’s processes did not die after SIGKILL.',
          });
        }
        await delay(POLL_MS);
      }
    }
    await this.exitRecord();
  }

  private async waitStopped(ms: number): Promise<boolean> {
    const deadline = realDeadline(ms);
    for (;;) {
      if (!(await this.isRunning())) return true;
      if (deadline.passed()) return false;
      await delay(POLL_MS);
    }
  }

  /**
   * The box's exit status. The launcher's waiter writes it a moment after the box ends; while the
   * waiter still lives it is about to, so wait for it (briefly) rather than report none.
   */
  async exitRecord(): Promise<BoxExit | undefined> {
    const waiter = (await readBoxProcess(this.paths))?.waiter;
    const deadline = realDeadline(EXIT_RECORD_TIMEOUT_MS);
    for (;;) {
      const exit = await readBoxExit(this.paths);
      if (exit || !waiter || !(await isAlive(waiter)) || deadline.passed())
        return exit ?? readBoxExit(this.paths);
      await delay(POLL_MS);
    }
  }

  /** Why a stopped box stopped, in the user's words; undefined for a clean exit or a box never started. */
  async stopReason(exit: BoxExit | undefined): Promise<string | undefined> {
    if (!(await readBoxProcess(this.paths))) return undefined;
    if (exit?.code !== 0 && ((await this.cgroup?.oomKills()) ?? 0) > 0) return 'killed: out of memory';
    if (await exists(this.paths.stopRequested)) return 'stopped on request';
    if (exit && !exit.ran)
      return `failed to start: ${(await firstLine(this.paths.log)) ?? `bwrap status ${exit.code}`}`;
    if (exit && exit.code > 128) {
      const name = Object.entries(constants.signals).find(([, n]) => n === exit.code - 128)?.[0];
      return `killed by signal ${name ?? exit.code - 128}`;
    }
    return undefined;
  }
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
