// Joins a user's WebSocket to the one the replica it reached opened to the replica holding the
// agent (cluster/agentRelay.ts `openSocket`): frames pass both ways as they are (text stays text,
// binary stays binary) and a close on one side closes the other with the same code and reason.
// A holder that vanishes without a close frame (killed, network gone) closes the user's socket
// with 1012, which our clients read as "reconnect": the agent comes back on a live replica.
import type WebSocket from 'ws';

/** Past this many unsent bytes toward the user, reading from the holder pauses until it drains. */
const HIGH_WATER_BYTES = 1 << 20;
/** Close codes a peer may not send (RFC 6455 §7.4.1), and what the other side gets instead. */
const RESERVED = new Set([1005, 1006, 1015]);
export const HOLDER_LOST_REASON = 'the workspace agent reconnects; attach again';

/** Bridges the two sockets; `holder` may be paused (it is resumed once its listeners are set). */
export function bridgeSockets(user: WebSocket, holder: WebSocket): void {
  let paused = false;
  holder.on('message', (data: Buffer, isBinary: boolean) => {
    if (user.readyState !== user.OPEN) return;
    user.send(data, { binary: isBinary }, () => {
      if (paused && user.bufferedAmount < HIGH_WATER_BYTES / 2) {
        paused = false;
        holder.resume();
      }
    });
    if (!paused && user.bufferedAmount > HIGH_WATER_BYTES) {
      paused = true;
      holder.pause();
    }
  });
  user.on('message', (data: Buffer, isBinary: boolean) => {
    if (holder.readyState === holder.OPEN) holder.send(data, { binary: isBinary });
  });
  holder.on('close', (code, reason) => {
    if (RESERVED.has(code)) closeOnce(user, 1012, HOLDER_LOST_REASON);
    else closeOnce(user, code, reason.toString());
  });
  user.on('close', (code, reason) => {
    if (RESERVED.has(code)) closeOnce(holder, 1000, 'viewer left');
    else closeOnce(holder, code, reason.toString());
  });
  // Errors end in 'close', handled above; unhandled they would take the process down.
  holder.on('error', () => {});
  user.on('error', () => {});
  // openSocket left it paused so that nothing it sent before now was lost.
  holder.resume();
}

function closeOnce(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) return;
  if (ws.readyState === ws.CONNECTING) {
    ws.terminate();
    return;
  }
  ws.close(code, reason);
}
