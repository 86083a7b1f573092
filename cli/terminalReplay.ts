// A terminal attached again (after its replica died or its agent moved) gets the server's replay
// of its screen buffer first: mostly what `rclaude ws ssh` printed already, then what the shell
// wrote while the connection was down. Printing it whole would repeat those lines; this keeps the
// tail of what was printed and finds where the replay goes past it.
import { TERMINAL_BUFFER_BYTES } from '../sdk/agentProtocol.js';

/** How many of the last printed bytes locate the printed end inside a replay before checking it all. */
const PROBE_BYTES = 256;

/** The last bytes a terminal session printed, as many as the server's buffer replays at most. */
export class PrintedTail {
  private chunks: Buffer[] = [];
  private size = 0;

  add(data: Buffer): void {
    this.chunks.push(data);
    this.size += data.length;
    if (this.size > 2 * TERMINAL_BUFFER_BYTES) {
      const all = Buffer.concat(this.chunks).subarray(-TERMINAL_BUFFER_BYTES);
      this.chunks = [all];
      this.size = all.length;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.chunks).subarray(-TERMINAL_BUFFER_BYTES);
    this.chunks = [all];
    this.size = all.length;
    return all;
  }
}

/**
 * The part of `replay` (the server's buffered output of the terminal, oldest first) that comes
 * after what `printed` ends with. The replay's start may lie before what was printed (the buffer
 * holds older output) or inside it; the latest place in the replay where everything printed
 * (or the whole replay up to there) matches the printed end is taken as that end. With no such
 * place the replay is all new.
 */
export function unseenReplay(printed: Buffer, replay: Buffer): Buffer {
  if (printed.length === 0 || replay.length === 0) return replay;
  const probe = printed.subarray(-Math.min(PROBE_BYTES, printed.length));
  // Where the probe occurs, latest first: the printed end candidates.
  for (let at = replay.lastIndexOf(probe); at >= 0; at = at > 0 ? replay.lastIndexOf(probe, at - 1) : -1) {
    const end = at + probe.length;
    const m = Math.min(end, printed.length);
    if (replay.subarray(end - m, end).equals(printed.subarray(printed.length - m)))
      return replay.subarray(end);
  }
  // The replay may start inside the probe: its start matches a shorter printed end (of a few
  // bytes at least, or a newline that happens to match would hide a byte of new output).
  const least = Math.min(16, replay.length);
  for (let k = Math.min(probe.length - 1, replay.length); k >= least; k--) {
    if (replay.subarray(0, k).equals(printed.subarray(printed.length - k))) return replay.subarray(k);
  }
  return replay;
}
