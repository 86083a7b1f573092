// Raw HTTP/1.1 over a TCP socket (node:net), for the requests no HTTP client will send: bare
// CR or LF, both Content-Length and Transfer-Encoding, a body promised and never sent.
import net from 'node:net';

export interface RawExchange {
  /** Everything the server sent. */
  text: string;
  /** The status of the first response, or undefined when none came. */
  status: number | undefined;
  headers: Record<string, string>;
  /** The first response's body parsed as JSON, or undefined. */
  json: unknown;
  /** The server closed the connection before `waitMs`. */
  closedByServer: boolean;
  /** Milliseconds from connecting until the server closed (or until `waitMs`). */
  elapsedMs: number;
}

/**
 * Connects to `port` on loopback, writes `data` (a string or chunks sent one after another), and
 * collects what comes back until the server closes the connection or `waitMs` passes.
 */
export function rawExchange(
  port: number,
  data: string | Buffer | (string | Buffer)[],
  waitMs = 5000,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const socket = net.connect(port, '127.0.0.1', () => {
      for (const chunk of [data].flat()) socket.write(chunk);
    });
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => {
      closedByServer = true;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may reset a connection it refuses while we are still writing.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') closedByServer = true;
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const elapsedMs = performance.now() - started;
      resolve({ ...parse(Buffer.concat(chunks).toString('latin1')), closedByServer, elapsedMs });
    });
  });
}

function parse(text: string): Pick<RawExchange, 'text' | 'status' | 'headers' | 'json'> {
  const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text);
  if (!m) return { text, status: undefined, headers: {}, json: undefined };
  const end = text.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of text.slice(m[0].length, end).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = text.slice(end + 4);
  const length = Number(headers['content-length']);
  if (Number.isInteger(length)) body = body.slice(0, length);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { text, status: Number(m[1]), headers, json };
}
