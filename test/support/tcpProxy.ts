// A loopback TCP proxy for a client under test: every connection passes through byte for byte, to
// the one target, until the test closes a terminal WebSocket the slow way a distant server does.
// Then the client has the close frame (1012, as the server sends when the workspace's agent
// reconnects) but not yet the end of the connection, as for a round trip over a slow network.
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** http://127.0.0.1:port */
  url: string;
  /**
   * Cuts the last terminal WebSocket that passed through from the server, which sees it break,
   * and sends the client a 1012 close frame in the server's name, leaving the connection open.
   * Throws when no terminal WebSocket came through since the last cut.
   */
  closeTerminalSlowly(): SlowClose;
  close(): Promise<void>;
}

export interface SlowClose {
  /** Resolves once the client answered the close frame: from then on it is closing. */
  answered: Promise<void>;
  /** Ends the connection: the client sees the close complete. */
  end(): void;
}

/** Path of the terminals WebSocket (server/http/routes/terminalRoutes.ts), as its request line shows it. */
const TERMINAL_UPGRADE = /^GET \/api\/v1\/workspaces\/[^/\s]+\/terminals[?\s]/;
/** RFC 6455 §5.2: FIN and opcode 8 (close); the server's frames are not masked. */
const CLOSE_OPCODE = 0x88;
const RECONNECT_CODE = 1012;

export async function startTcpProxy(target: URL): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let terminal: { client: Socket; upstream: Socket; cut: boolean } | undefined;
  // Half-open allowed: a client's FIN is passed on, not answered for the server by an end here.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair = { client, upstream, cut: false };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.once('data', (first: Buffer) => {
      if (TERMINAL_UPGRADE.test(first.toString('latin1'))) terminal = pair;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    // A side that goes away takes the other along, except the client of a connection being cut.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!pair.cut) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no loopback port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    closeTerminalSlowly() {
      const t = terminal;
      terminal = undefined;
      if (!t) throw new Error('no terminal WebSocket passed through the proxy');
      t.cut = true;
      t.upstream.unpipe(t.client);
      t.client.unpipe(t.upstream);
      t.upstream.destroy();
      const reason = Buffer.from('the workspace agent reconnects; attach again');
      const head = Buffer.from([CLOSE_OPCODE, 2 + reason.length, RECONNECT_CODE >> 8, RECONNECT_CODE & 0xff]);
      t.client.write(Buffer.concat([head, reason]));
      const answered = new Promise<void>((resolve) => t.client.once('data', () => resolve()));
      // unpipe() paused it; a 'data' listener alone does not restart a paused stream.
      t.client.resume();
      return { answered, end: () => t.client.end() };
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
