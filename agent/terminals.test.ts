import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RPC_INVALID_PARAMS } from '../sdk/agentProtocol.js';
import type { PeerChannel, RpcError } from '../sdk/rpcPeer.js';
import { buildAgent, TestAgent, type TestConnection, waitForEvent } from './agentHarness.js';

let bundle: Awaited<ReturnType<typeof buildAgent>>;
let agent: TestAgent;
let conn: TestConnection;

beforeAll(async () => {
  bundle = await buildAgent();
  agent = await TestAgent.start({ entry: bundle.entry });
  conn = await agent.controlPlane.connection();
});
afterAll(async () => {
  await agent?.stop();
  await bundle?.remove();
});

/** A terminal's channel with everything received on it so far. */
class Screen {
  text = '';
  constructor(readonly ch: PeerChannel) {
    ch.setEncoding('utf8');
    ch.on('data', (d: string) => {
      this.text += d;
      ch.emit('screen');
    });
  }

  /** Waits until the received text matches. */
  async shows(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    if (pattern.test(this.text)) return;
    await waitForEvent(
      this.ch,
      'screen',
      () => pattern.test(this.text),
      timeoutMs,
      `screen to show ${pattern}`,
    ).catch((err: Error) =>
      Promise.reject(new Error(`${err.message}; it shows ${JSON.stringify(this.text.slice(-500))}`)),
    );
  }
}

/** A whole line of output (bash's bracketed-paste switch may sit between the echo and it). */
function outputLine(text: string): RegExp {
  return new RegExp(`[\\r\\n]${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\r\\n`);
}

async function open(terminalId: string, extra: Record<string, unknown> = {}): Promise<Screen> {
  const screen = new Screen(conn.peer.openChannel());
  await conn.peer.request('pty.open', { terminalId, channel: screen.ch.id, cols: 80, rows: 24, ...extra });
  return screen;
}

describe('terminals', () => {
  it('runs a shell in the workspace that echoes what is typed', async () => {
    const screen = await open('t1');
    screen.ch.write('echo hi; pwd\r');
    await screen.shows(outputLine('hi'));
    await screen.shows(outputLine(agent.workspace));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, typed into the terminal
    screen.ch.write('echo "term=$TERM token=${RC_AGENT_TOKEN:-none}"\r');
    await screen.shows(/term=xterm-256color token=none/);
  });

  it('resizes, and rejects absurd sizes', async () => {
    const screen = await open('t2');
    await conn.peer.request('pty.resize', { terminalId: 't2', cols: 123, rows: 45 });
    screen.ch.write('stty size\r');
    await screen.shows(/45 123/);
    const err = await conn.peer
      .request('pty.resize', { terminalId: 't2', cols: 100_000, rows: 45 })
      .catch((e) => e);
    expect((err as RpcError).code).toBe(RPC_INVALID_PARAMS);
    const list = await conn.peer.request<{ terminals: { terminalId: string; cols: number }[] }>(
      'pty.list',
      {},
    );
    expect(list.terminals.find((t) => t.terminalId === 't2')?.cols).toBe(123);
  });

  it('replays its output to a new channel and keeps running after its channel closes', async () => {
    const first = await open('t3');
    first.ch.write('echo before-reattach\r');
    await first.shows(outputLine('before-reattach'));
    first.ch.end();
    const second = new Screen(conn.peer.openChannel());
    await conn.peer.request('pty.attach', { terminalId: 't3', channel: second.ch.id });
    await second.shows(/before-reattach/);
    second.ch.write('echo after-reattach\r');
    await second.shows(outputLine('after-reattach'));
  });

  it('survives a dropped connection and is listed and reattachable after reconnecting', async () => {
    const screen = await open('t4');
    screen.ch.write('echo survivor\r');
    await screen.shows(outputLine('survivor'));
    conn.peer.ws.terminate();
    const next = await agent.controlPlane.connection(1);
    const list = await next.peer.request<{ terminals: { terminalId: string }[] }>('pty.list', {});
    expect(list.terminals.map((t) => t.terminalId)).toEqual(expect.arrayContaining(['t1', 't2', 't3', 't4']));
    const again = new Screen(next.peer.openChannel());
    await next.peer.request('pty.attach', { terminalId: 't4', channel: again.ch.id });
    await again.shows(/survivor/);
    conn = next;
  });

  it('reports pty.exit and ends the channel when the program exits', async () => {
    const screen = await open('t5');
    const ended = waitForEvent(screen.ch, 'end', () => true, 10_000, 'channel end');
    screen.ch.write('exit 3\r');
    const exit = await conn.notification<{ terminalId: string; exitCode: number }>(
      'pty.exit',
      (p) => p.terminalId === 't5',
    );
    expect(exit).toEqual({ terminalId: 't5', exitCode: 3, signal: null });
    await ended;
    const err = (await conn.peer
      .request('pty.resize', { terminalId: 't5', cols: 80, rows: 24 })
      .catch((e) => e)) as RpcError;
    expect(err.reason).toBe('not_found');
  });

  it('closes a terminal with SIGHUP, and runs a given command', async () => {
    await open('t6', { command: ['sleep', '600'] });
    await conn.peer.request('pty.close', { terminalId: 't6' });
    const exit = await conn.notification<{ terminalId: string; signal: number | null }>(
      'pty.exit',
      (p) => p.terminalId === 't6',
    );
    expect(exit.signal).toBe(1);
    const err = (await conn.peer
      .request('pty.open', {
        terminalId: 't7',
        channel: conn.peer.openChannel().id,
        cols: 80,
        rows: 24,
        command: ['no-such-program'],
      })
      .catch((e) => e)) as RpcError;
    expect(err.reason).toBe('spawn_failed');
  });

  it('refuses a terminal id that is taken', async () => {
    const err = (await conn.peer
      .request('pty.open', { terminalId: 't1', channel: conn.peer.openChannel().id, cols: 80, rows: 24 })
      .catch((e) => e)) as RpcError;
    expect(err.reason).toBe('exists');
  });
});
