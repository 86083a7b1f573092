// Terminal echo timing, for the noisy-neighbour probe and the relay benchmark: one terminal
// socket, and the time from a keystroke sent to its echo on the screen, one key at a time.
import WebSocket from 'ws';

const TIMEOUT_MS = 60_000;

export interface EchoTerminal {
  /** Times `keys` keystrokes, one after the other (ms each). */
  measure(keys: number): Promise<number[]>;
  close(): void;
}

/** Opens a new terminal at `url` (the terminals WebSocket) and waits for the shell's prompt. */
export async function openEchoTerminal(url: string, auth: string): Promise<EchoTerminal> {
  const term = new WebSocket(url, { headers: { authorization: auth }, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    term.once('open', () => resolve());
    term.once('error', reject);
  });
  let screen = '';
  let onScreen: (() => void) | undefined;
  term.on('message', (d: Buffer, binary: boolean) => {
    if (!binary) return;
    screen += d.toString('latin1');
    onScreen?.();
  });
  // The shell's prompt, before the first keystroke is timed.
  await new Promise((r) => setTimeout(r, 500));
  return {
    async measure(keys) {
      const times: number[] = [];
      for (let i = 0; i < keys; i++) {
        screen = '';
        const t0 = performance.now();
        const seen = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no terminal echo within 60 s')), TIMEOUT_MS);
          onScreen = () => {
            if (!screen.includes('x')) return;
            clearTimeout(timer);
            resolve();
          };
        });
        term.send(Buffer.from('x'));
        await seen;
        times.push(performance.now() - t0);
        // Ctrl-U: the line is emptied now and then, so the shell never holds a long one.
        if (i % 100 === 99) term.send(Buffer.from('\u0015'));
      }
      return times;
    },
    close: () => term.close(),
  };
}
