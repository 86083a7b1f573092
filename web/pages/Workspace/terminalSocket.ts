// The browser end of the terminal protocol (docs/workspaces.md#terminals): a WebSocket on
// /api/v1/workspaces/:id/terminals that opens a terminal (?cols&rows) or reattaches to one
// (?terminalId). Keystrokes go as binary frames, control messages as JSON text; output comes as
// binary frames and ready/exit/error as text.
import type { TerminalServerMessage } from '../../../sdk/workspaceWire.js';
import { api } from '../../api/client.js';

export interface TerminalSocketEvents {
  onMessage: (msg: TerminalServerMessage) => void;
  onOutput: (bytes: Uint8Array) => void;
  /**
   * The socket ended; `ready` says whether the server ever answered "ready". A terminal that is
   * not open (any more) ends with code WS_NOT_FOUND and a reason to show.
   */
  onClose: (ready: boolean, close: { code: number; reason: string }) => void;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(n)));

export class TerminalSocket {
  private readonly ws: WebSocket;
  private readonly encoder = new TextEncoder();
  private readonly isNew: boolean;
  private ready = false;
  /** The page is done with this socket; no more events reach it. */
  private silenced = false;
  /** What to do once "ready" arrives for a socket the page dropped before it. */
  private onReady: 'end' | 'leave' | null = null;

  constructor(
    workspaceId: string,
    target: { terminalId: string } | { cols: number; rows: number },
    events: TerminalSocketEvents,
  ) {
    this.isNew = !('terminalId' in target);
    const size = (t: { cols: number; rows: number }) => ({
      cols: clamp(t.cols, 2, 1000),
      rows: clamp(t.rows, 1, 500),
    });
    this.ws = new WebSocket(api.terminals.url(workspaceId, 'terminalId' in target ? target : size(target)));
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
      if (typeof ev.data === 'string') {
        const msg = JSON.parse(ev.data) as TerminalServerMessage;
        if (msg.type === 'ready') {
          this.ready = true;
          if (this.onReady) return this.finish(this.onReady === 'end');
        }
        if (!this.silenced) events.onMessage(msg);
      } else if (!this.silenced) events.onOutput(new Uint8Array(ev.data));
    };
    this.ws.onclose = (ev: CloseEvent) => {
      if (!this.silenced) events.onClose(this.ready, { code: ev.code, reason: ev.reason });
    };
  }

  get isReady(): boolean {
    return this.ready && this.ws.readyState === WebSocket.OPEN;
  }

  input(data: string): void {
    if (this.isReady) this.ws.send(this.encoder.encode(data));
  }

  /** xterm's onBinary: one byte per character (mouse reports in some encodings). */
  inputBinary(data: string): void {
    if (this.isReady) this.ws.send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
  }

  resize(cols: number, rows: number): void {
    if (this.isReady)
      this.ws.send(JSON.stringify({ type: 'resize', cols: clamp(cols, 2, 1000), rows: clamp(rows, 1, 500) }));
  }

  /**
   * Leaves the terminal, or ends it when `endTerminal` (the tab was closed). A socket that has
   * not heard "ready" yet ends its terminal once it does, so nothing is left running unseen.
   */
  close(endTerminal: boolean): void {
    this.silenced = true;
    // The server reads client messages only once the terminal is attached, i.e. after "ready".
    if (!this.ready) this.onReady = endTerminal || this.isNew ? 'end' : 'leave';
    else this.finish(endTerminal);
  }

  private finish(endTerminal: boolean): void {
    this.silenced = true;
    if (endTerminal && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'close' }));
    this.ws.close();
  }
}
