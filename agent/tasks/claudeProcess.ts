import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { log } from '../log.js';
import { LINE_KEEP_BYTES } from './eventLine.js';
import { LineSplitter, type SplitLine } from './lineSplitter.js';
import { StderrLog } from './stderrLog.js';

/** How Claude Code ended. */
export interface ClaudeExit {
  exitCode: number | null;
  signal: string | null;
  /** Its last stderr lines (what it said before dying, if anything). */
  stderrTail: string;
}

export interface ClaudeProcessOptions {
  taskId: string;
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Each stdout line, in order; called for a last unterminated line too. */
  onLine(line: SplitLine): void;
}

/** `task.stop`: stdin closed at once, SIGTERM after this long, SIGKILL after STOP_KILL_MS. */
export const STOP_TERM_MS = 2000;
export const STOP_KILL_MS = 5000;
/**
 * After the process exits, how long to wait for its stdout to close. A background child that
 * inherited it (a tool's daemon) would otherwise hold back the exit for as long as it lives.
 */
const PIPE_GRACE_MS = 1000;

/**
 * One running Claude Code: JSON lines in on stdin, lines out on stdout, stderr to the agent log.
 * It runs in its own process group so that stopping it also stops the tools it started.
 */
export class ClaudeProcess {
  /** Resolves once the process exited and its stdout was read to the end. */
  readonly exited: Promise<ClaudeExit>;
  private stdinOpen = true;
  private hasExited = false;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly options: ClaudeProcessOptions,
  ) {
    const stdout = new LineSplitter(LINE_KEEP_BYTES, options.onLine);
    const stderr = new StderrLog(options.taskId);
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    // Writing to a process that is exiting fails with EPIPE; the exit itself is what matters.
    child.stdin.on('error', () => {
      this.stdinOpen = false;
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.hasExited = true;
        this.stdinOpen = false;
        const finish = () => {
          clearTimeout(grace);
          child.stdout.destroy();
          child.stderr.destroy();
          stdout.end();
          resolve({ exitCode: code, signal, stderrTail: stderr.end() });
        };
        const grace = setTimeout(finish, PIPE_GRACE_MS);
        child.once('close', finish);
      });
    });
  }

  /**
   * Starts the process; resolves once it runs.
   * @throws the spawn error (ENOENT, EACCES) when it cannot be started.
   */
  static async start(options: ClaudeProcessOptions): Promise<ClaudeProcess> {
    const child = spawn(options.file, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: 'pipe',
      detached: true,
    });
    await Promise.race([once(child, 'spawn'), once(child, 'error').then(([err]) => Promise.reject(err))]);
    return new ClaudeProcess(child, options);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** Writes one JSON line to stdin; false when stdin is already closed. */
  write(message: unknown): boolean {
    if (!this.stdinOpen) return false;
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    return true;
  }

  /** Stops reading stdout (the event queue is behind); the pipe then holds the process back. */
  pause(): void {
    this.child.stdout.pause();
  }

  resume(): void {
    this.child.stdout.resume();
  }

  /** Closes stdin, then SIGTERMs and later SIGKILLs the process group; resolves once it exited. */
  async stop(): Promise<ClaudeExit> {
    if (this.stdinOpen) {
      this.stdinOpen = false;
      this.child.stdin.end();
    }
    const term = setTimeout(() => this.signal('SIGTERM'), STOP_TERM_MS);
    const kill = setTimeout(() => this.signal('SIGKILL'), STOP_KILL_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(term);
      clearTimeout(kill);
    }
  }

  /** SIGTERMs the process group now. */
  terminate(): void {
    this.signal('SIGTERM');
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.hasExited) return;
    log('task.signal', { taskId: this.options.taskId, pid: this.pid, signal });
    try {
      process.kill(-this.pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }
}
