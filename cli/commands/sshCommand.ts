// `rclaude ws ssh <id>`: a shell in a workspace, in the user's own terminal, over the terminals
// WebSocket (protocol: server/http/routes/terminalRoutes.ts). Keystrokes go out raw, so Ctrl-C and
// Ctrl-D reach the remote shell; Ctrl-D at an empty prompt ends it and with it this command, which
// exits with the shell's exit code. SIGTERM and SIGHUP leave the shell running, for `--attach`.
import { constants } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import type WebSocket from 'ws';
import { ApiError } from '../../sdk/client/apiError.js';
import {
  RECONNECT_ATTEMPTS,
  WS_CONNECTION_LOST,
  WS_FORBIDDEN,
  WS_NOT_FOUND,
  WS_RECONNECT,
  WS_UNAUTHORIZED,
} from '../../sdk/limits.js';
import type { TerminalServerMessage } from '../../sdk/workspaceWire.js';
import { CliError, usageError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { shortId } from '../resolveRef.js';
import { ensureRunning, resolveWorkspace } from '../resolveWorkspace.js';
import { PrintedTail, unseenReplay } from '../terminalReplay.js';

/** End of transmission: what Ctrl-D types. */
const EOT = Buffer.from([4]);

export function registerSsh(ws: Command, ctx: CliContext): void {
  const ssh = ws
    .command('ssh')
    .description('open a shell in a running workspace (Ctrl-D at an empty prompt leaves)')
    .argument('<id>', 'workspace id, or its start')
    .option('--attach <terminalId>', 'attach to a terminal that is still open instead of opening one')
    .addHelpText(
      'after',
      '\nWith standard input not a terminal, it is sent as typed and the command ends when the shell\n' +
        'does, with its exit code: echo "make test; exit $?" | rclaude ws ssh <id>',
    );
  addServerOptions(ssh).action(async (ref: string, o: ServerOptions & { attach?: string }) => {
    if (o.attach !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(o.attach))
      throw usageError(`--attach must be a terminal id (letters, digits, - and _), got "${o.attach}"`);
    const client = ctx.client(o);
    const w = await resolveWorkspace(client, ref);
    ensureRunning(w);
    const end = await runReattaching(
      (terminalId) => client.openTerminal(w.id, terminalId ? { terminalId } : terminalSize()),
      o.attach,
    ).catch(async (err: unknown) => {
      if (err instanceof TerminalNotFound)
        throw new CliError(`cannot attach to terminal ${o.attach}: ${err.reason}`);
      if (!(err instanceof TerminalDropped)) throw err;
      // A workspace that stops takes its terminals with it; say that rather than "attach again".
      // Only to word the message better; without an answer the TerminalDropped below is shown.
      const now = await client.workspaces.get(w.id).catch(() => undefined);
      if (now && now.status !== 'running')
        throw new CliError(`workspace ${shortId(w.id)} is ${now.status}; its terminal ended with it`);
      const again = err.terminalId
        ? `; attach again with \`rclaude ws ssh ${shortId(w.id)} --attach ${err.terminalId}\``
        : '';
      throw new CliError(`the terminal connection closed (${err.why})${again}`);
    });
    if ('signal' in end) {
      // After a hangup there is no terminal left to tell.
      if (end.signal === 'SIGTERM' && end.terminalId)
        process.stderr.write(
          `rclaude: left on SIGTERM; the shell goes on: attach again with \`rclaude ws ssh ${shortId(w.id)} --attach ${end.terminalId}\`\n`,
        );
      process.exitCode = 128 + constants.signals[end.signal];
      return;
    }
    // A shell's exit code is not a failure of rclaude: no message, just the code (bin/rclaude.js).
    if (end.exitCode !== 0) process.exitCode = end.exitCode;
  });
}

/** How a terminal session ended: its shell exited, or this command was told to leave. */
type TerminalEnd = { exitCode: number } | { signal: LeaveSignal; terminalId: string | undefined };

/** The signals that make the command leave the terminal, which keeps running on the server. */
type LeaveSignal = 'SIGTERM' | 'SIGHUP';

/** The server closed the connection without the shell having exited. */
class TerminalDropped extends Error {
  constructor(
    readonly why: string,
    readonly terminalId: string | undefined,
    readonly code: number,
  ) {
    super(`the terminal connection closed (${why})`);
  }
}

/** The server closed the connection with WS_NOT_FOUND: the terminal to attach to is not open. */
class TerminalNotFound extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Runs the terminal; when the server says the workspace's side went away (WS_RECONNECT: its
 * agent reconnects, maybe to another replica), or the connection to the replica broke
 * (WS_CONNECTION_LOST: that replica died), attaches again to the same terminal a second later,
 * up to RECONNECT_ATTEMPTS times in a row, also over refusals while the agent is not back yet.
 */
async function runReattaching(
  open: (terminalId: string | undefined) => WebSocket,
  attach: string | undefined,
): Promise<TerminalEnd> {
  let terminalId = attach;
  let retries = 0;
  // Across attaches: what an attach again replays of it is not printed twice.
  const printed = new PrintedTail();
  for (;;) {
    try {
      return await runTerminal(open(terminalId), printed);
    } catch (err) {
      const dropped =
        err instanceof TerminalDropped &&
        (err.code === WS_RECONNECT || err.code === WS_CONNECTION_LOST) &&
        err.terminalId;
      const notBack = retries > 0 && err instanceof ApiError && err.status === 409;
      if (!(dropped || notBack) || retries >= RECONNECT_ATTEMPTS) throw err;
      if (err instanceof TerminalDropped) {
        terminalId = err.terminalId;
        retries = 0;
      }
      retries += 1;
      await delay(1000);
    }
  }
}

/** The local terminal's size, clamped to what the server accepts; 80x24 when there is none. */
function terminalSize(): { cols: number; rows: number } {
  const out = process.stdout;
  const cols = out.isTTY && out.columns ? out.columns : 80;
  const rows = out.isTTY && out.rows ? out.rows : 24;
  return { cols: Math.min(Math.max(cols, 2), 1000), rows: Math.min(Math.max(rows, 1), 500) };
}

/**
 * Connects stdin and stdout to the terminal until it ends. Resolves with the shell's exit code, or
 * with the signal on SIGTERM or SIGHUP, after closing the connection: the server keeps the shell
 * for `--attach` (terminalHub.ts). Rejects when the server refuses or reports an error (CliError,
 * ApiError), has no such terminal (TerminalNotFound) or drops the connection (TerminalDropped).
 * The local terminal is back in its normal mode on every way out.
 */
function runTerminal(socket: WebSocket, printed: PrintedTail): Promise<TerminalEnd> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const raw = stdin.isTTY === true;
  let terminalId: string | undefined;
  let exit: { exitCode: number | null; signal: number | null } | undefined;
  let serverError: string | undefined;
  let transportError: Error | undefined;
  let left: LeaveSignal | undefined;
  let closeTimer: NodeJS.Timeout | undefined;
  /** The length of the replay frame announced by "ready" and not yet received. */
  let replayBytes = 0;

  const onInput = (data: Buffer) => {
    if (socket.readyState === socket.OPEN) return socket.send(data, { binary: true });
    // The server's close frame came and the connection has not ended yet: ws drops what is sent
    // now without a word (sendAfterClose). Put it back; the next attach reads it again.
    stdin.pause();
    stdin.unshift(data);
  };
  // Piped input ends without a Ctrl-D; type one so the shell sees end of input, as `sh < file` would.
  // A Ctrl-D that reaches the terminal while the shell is still starting (before its line editor
  // takes the terminal) can be swallowed, so it is typed again each second until the shell leaves.
  let eotTimer: NodeJS.Timeout | undefined;
  const onInputEnd = () => {
    let left = 10;
    const type = () => {
      if (socket.readyState === socket.OPEN && left-- > 0) socket.send(EOT, { binary: true });
      else clearInterval(eotTimer);
    };
    type();
    eotTimer = setInterval(type, 1000);
  };
  const onResize = () => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'resize', ...terminalSize() }));
  };
  const restore = () => {
    if (raw && stdin.isRaw) stdin.setRawMode(false);
  };
  // Last resort for ways out that skip the cleanup below (process.exit elsewhere, a crash).
  process.once('exit', restore);

  return new Promise<TerminalEnd>((resolve, reject) => {
    // Raw mode outlives the process (Node itself undoes it on SIGTERM, but not on SIGHUP), so the
    // terminal is put back at once. The connection then ends with a close frame, as a viewer that
    // leaves; a server that does not answer it within a second is not waited for.
    const onSignal = (signal: LeaveSignal) => {
      restore();
      left = signal;
      socket.close(1000, 'the client left');
      closeTimer = setTimeout(() => socket.terminate(), 1000);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGHUP', onSignal);

    function finish() {
      clearInterval(eotTimer);
      clearTimeout(closeTimer);
      stdin.off('data', onInput);
      stdin.off('end', onInputEnd);
      stdout.off('resize', onResize);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      process.off('exit', restore);
      restore();
      stdin.pause();
    }

    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const out =
          replayBytes > 0 && data.length === replayBytes ? unseenReplay(printed.bytes(), data) : data;
        replayBytes = 0;
        printed.add(out);
        if (out.length === 0) return;
        // Let a slow stdout (a pipe into `less`) hold the terminal back instead of buffering here.
        if (!stdout.write(out)) {
          socket.pause();
          stdout.once('drain', () => socket.resume());
        }
        return;
      }
      let msg: TerminalServerMessage;
      try {
        msg = JSON.parse(data.toString('utf8')) as TerminalServerMessage;
      } catch {
        return;
      }
      if (msg.type === 'ready') {
        terminalId = msg.terminalId;
        replayBytes = msg.replayBytes ?? 0;
        // Input goes out only now: the server reads the socket once the terminal is open.
        if (raw) stdin.setRawMode(true);
        stdin.on('data', onInput);
        // Input that ended while an earlier connection to this terminal was open has no 'end' to
        // come. The Ctrl-Ds typed then may never have reached the shell, or reached it while a
        // command ran and been lost; typed again here, or the shell and this command wait forever.
        if (stdin.readableEnded) onInputEnd();
        else stdin.on('end', onInputEnd);
        stdin.resume();
        stdout.on('resize', onResize);
      } else if (msg.type === 'exit') exit = msg;
      else if (msg.type === 'error') serverError = msg.message;
    });
    socket.on('error', (err) => {
      transportError = err;
    });
    socket.on('close', (code, reason) => {
      finish();
      if (exit) return resolve({ exitCode: exit.exitCode ?? (exit.signal ? 128 + exit.signal : 0) });
      if (left) return resolve({ signal: left, terminalId });
      // The credential stopped working (signed out, token revoked, account disabled) or the role
      // no longer allows the terminal: reconnecting would be refused, so say so and stop.
      const why = serverError ?? reason.toString('utf8');
      if (code === WS_UNAUTHORIZED) return reject(new ApiError(401, 'unauthorized', `Signed out: ${why}`));
      if (code === WS_FORBIDDEN) return reject(new ApiError(403, 'forbidden', why));
      if (transportError instanceof ApiError) return reject(transportError);
      if (serverError) return reject(new CliError(serverError));
      // A connection that broke under an attached terminal (a reset rather than a close) is lost
      // like one that closed without a frame; the terminal itself is still there to attach to.
      if (transportError && terminalId)
        return reject(new TerminalDropped(transportError.message, terminalId, WS_CONNECTION_LOST));
      if (transportError)
        return reject(new CliError(`the terminal connection failed (${transportError.message})`));
      if (code === WS_NOT_FOUND)
        return reject(new TerminalNotFound(reason.toString('utf8') || 'terminal not found'));
      reject(new TerminalDropped(reason.toString('utf8') || `code ${code}`, terminalId, code));
    });
  });
}
