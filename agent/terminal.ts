import type { IPty } from 'node-pty';
import { TERMINAL_BUFFER_BYTES } from '../sdk/agentProtocol.js';
import { RingBuffer } from '../sdk/ringBuffer.js';
import type { PeerChannel } from '../sdk/rpcPeer.js';

/** After SIGHUP, a terminal that has not exited within this long gets SIGKILL. */
const KILL_GRACE_MS = 2000;
/**
 * node-pty may report the program's exit before the last of its output is read from the PTY (a
 * shell's final lines): the exit is passed on once output has been quiet this long…
 */
const EXIT_QUIET_MS = 50;
/** …or this long after the exit at most. */
const EXIT_FLUSH_MAX_MS = 500;

/**
 * One PTY, the channel currently bound to it, and the tail of its output. The terminal outlives
 * its channel: when the viewer or the whole connection goes away the program keeps running, and
 * the control plane can bind a new channel later (it owns idle timeouts).
 */
export class Terminal {
  private readonly buffer = new RingBuffer(TERMINAL_BUFFER_BYTES);
  private channel: PeerChannel | undefined;
  private unbindChannel: (() => void) | undefined;
  private paused = false;
  private killTimer: NodeJS.Timeout | undefined;
  /** Set between the program's exit and passing it on: output still arriving delays that. */
  private onLateOutput: (() => void) | undefined;

  constructor(
    readonly id: string,
    private readonly pty: IPty,
    public cols: number,
    public rows: number,
    onExit: (exitCode: number | null, signal: number | null) => void,
  ) {
    // Spawned with `encoding: null`, so data is a Buffer despite the typings.
    pty.onData((data) => {
      this.output(data as unknown as Buffer);
      this.onLateOutput?.();
    });
    pty.onExit(({ exitCode, signal }) => {
      if (this.killTimer) clearTimeout(this.killTimer);
      const finish = () => {
        clearTimeout(quiet);
        clearTimeout(latest);
        this.onLateOutput = undefined;
        const channel = this.channel;
        this.unbind();
        channel?.end();
        onExit(signal ? null : exitCode, signal || null);
      };
      let quiet = setTimeout(finish, EXIT_QUIET_MS);
      const latest = setTimeout(finish, EXIT_FLUSH_MAX_MS);
      this.onLateOutput = () => {
        clearTimeout(quiet);
        quiet = setTimeout(finish, EXIT_QUIET_MS);
      };
    });
  }

  get pid(): number {
    return this.pty.pid;
  }

  /** Makes `ch` the terminal's channel: replays the buffered output on it, then streams live. */
  bind(ch: PeerChannel): void {
    const previous = this.channel;
    this.unbind();
    if (previous && previous !== ch) previous.end();
    this.channel = ch;
    if (this.buffer.length > 0) ch.write(this.buffer.snapshot());
    const input = (data: Buffer) => this.pty.write(data);
    const ended = () => {
      // The viewer closed its side: close ours too, so the channel is forgotten on both ends.
      if (!ch.writableEnded) ch.end();
      release();
    };
    const release = () => {
      if (this.channel === ch) this.unbind();
    };
    ch.on('data', input);
    ch.once('end', ended);
    ch.once('close', release);
    this.unbindChannel = () => {
      ch.off('data', input);
      ch.off('end', ended);
      ch.off('close', release);
    };
  }

  resize(cols: number, rows: number): void {
    this.pty.resize(cols, rows);
    this.cols = cols;
    this.rows = rows;
  }

  /** SIGHUP, as when a terminal window closes; SIGKILL to the process group if that is ignored. */
  close(): void {
    this.pty.kill('SIGHUP');
    this.killTimer ??= setTimeout(() => {
      try {
        process.kill(-this.pty.pid, 'SIGKILL');
      } catch {
        this.pty.kill('SIGKILL');
      }
    }, KILL_GRACE_MS);
  }

  private output(data: Buffer): void {
    this.buffer.push(data);
    const ch = this.channel;
    if (!ch || ch.destroyed || ch.writableEnded) return;
    // Stop reading the PTY while the WebSocket is backed up; the program then blocks on write,
    // which is what a slow terminal does to it anyway.
    if (!ch.write(data) && !this.paused) {
      this.paused = true;
      this.pty.pause();
      ch.once('drain', () => this.resume());
    }
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pty.resume();
  }

  private unbind(): void {
    this.unbindChannel?.();
    this.unbindChannel = undefined;
    this.channel = undefined;
    this.resume();
  }
}
