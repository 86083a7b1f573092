// A terminal viewer for tests: opens the WebSocket, waits for its "ready" frame and collects
// what it receives (binary output as text, text frames on lines of their own) for `waitFor`.
import WebSocket from 'ws';

export interface TerminalViewer {
  ws: WebSocket;
  ready: { type: string; terminalId: string; cols: number; rows: number };
  /** Everything received so far. */
  text(): string;
  /** Resolves once what was received matches `re`; throws with the tail of it after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

export async function openTerminal(url: string, auth: string): Promise<TerminalViewer> {
  const ws = new WebSocket(url, { headers: { authorization: auth } });
  let text = '';
  const waiters: (() => void)[] = [];
  ws.on('message', (data: Buffer, isBinary) => {
    text += isBinary ? data.toString('utf8') : `\n${data.toString('utf8')}\n`;
    for (const w of waiters.splice(0)) w();
  });
  const ready = await new Promise<TerminalViewer['ready']>((resolve, reject) => {
    ws.once('message', (d) => resolve(JSON.parse(d.toString())));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
  });
  return {
    ws,
    ready,
    text: () => text,
    async waitFor(re: RegExp, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(text)) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(text.slice(-500))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}
