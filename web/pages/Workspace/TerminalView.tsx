// One terminal: xterm.js on a TerminalSocket. Loaded with React.lazy from TerminalsPanel, so
// xterm and its CSS are fetched only when someone opens a terminal. It fits its box (a
// ResizeObserver refits and tells the server the new size) and takes the keyboard whenever its
// tab is shown.
import '@xterm/xterm/css/xterm.css';
import { Button, Group, Text, useComputedColorScheme } from '@mantine/core';
import { FitAddon } from '@xterm/addon-fit';
import { type ITheme, Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'react';
import { RECONNECT_ATTEMPTS, WS_NOT_FOUND, WS_RECONNECT, WS_UNAUTHORIZED } from '../../../sdk/limits.js';
import { useSignedOut } from '../../app/session.js';
import { TerminalSocket } from './terminalSocket.js';

const THEMES: Record<'light' | 'dark', ITheme> = {
  light: { background: '#ffffff', foreground: '#1f2328', cursor: '#1f2328', selectionBackground: '#b6d4fe' },
  dark: { background: '#1a1b1e', foreground: '#e3e3e3', cursor: '#e3e3e3', selectionBackground: '#3a4a66' },
};

export interface TerminalViewProps {
  workspaceId: string;
  /** Reattach to this terminal; null opens a new one. Read once, on mount. */
  terminalId: string | null;
  active: boolean;
  /** Read on unmount: true when the tab was closed, so the terminal ends instead of lingering. */
  endOnUnmount: { current: boolean };
  onReady: (terminalId: string) => void;
  onExit: () => void;
}

export default function TerminalView(props: TerminalViewProps) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const fit = useRef<FitAddon | null>(null);
  const socket = useRef<TerminalSocket | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const onSignedOut = useSignedOut();
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;
  const knownId = useRef(props.terminalId);
  const exited = useRef(false);
  const [connection, setConnection] = useState(0);
  const [disconnected, setDisconnected] = useState(false);
  /** Attaches in a row after WS_RECONNECT without a "ready" in between. */
  const retries = useRef(0);
  const scheme = useComputedColorScheme('light');
  // The terminal is created once with the scheme of the moment; its own effect follows changes.
  const initialScheme = useRef(scheme);

  // The terminal itself lives as long as the component.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const t = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "SF Mono", Menlo, Consolas, monospace',
      fontSize: 13,
      scrollback: 5000,
      theme: THEMES[initialScheme.current],
    });
    const f = new FitAddon();
    t.loadAddon(f);
    t.open(el);
    term.current = t;
    fit.current = f;
    const refit = () => {
      if (el.clientWidth > 0 && el.clientHeight > 0) f.fit();
    };
    refit();
    const observer = new ResizeObserver(refit);
    observer.observe(el);
    const subs = [
      t.onData((d) => socket.current?.input(d)),
      t.onBinary((d) => socket.current?.inputBinary(d)),
      t.onResize(({ cols, rows }) => socket.current?.resize(cols, rows)),
    ];
    return () => {
      observer.disconnect();
      for (const s of subs) s.dispose();
      t.dispose();
      term.current = null;
    };
  }, []);

  // One socket per connection attempt; "Reconnect" starts another.
  useEffect(() => {
    const t = term.current;
    if (!t) return;
    const id = knownId.current;
    // The server replays the screen on every attach; start from a clean one.
    if (connection > 0) t.reset();
    // A terminal mounted in a hidden tab cannot be measured yet; it refits when shown.
    const proposed = fit.current?.proposeDimensions();
    const size =
      proposed && Number.isFinite(proposed.cols) && Number.isFinite(proposed.rows)
        ? proposed
        : { cols: t.cols, rows: t.rows };
    const s = new TerminalSocket(latest.current.workspaceId, id ? { terminalId: id } : size, {
      onOutput: (bytes) => t.write(bytes),
      onMessage: (msg) => {
        if (msg.type === 'ready') {
          retries.current = 0;
          knownId.current = msg.terminalId;
          latest.current.onReady(msg.terminalId);
          if (msg.cols !== t.cols || msg.rows !== t.rows) s.resize(t.cols, t.rows);
        } else if (msg.type === 'exit') {
          exited.current = true;
          const how = msg.exitCode !== null ? `code ${msg.exitCode}` : `signal ${msg.signal}`;
          t.write(`\r\n\x1b[2m[the shell exited with ${how}]\x1b[0m\r\n`);
          latest.current.onExit();
        } else {
          t.write(`\r\n\x1b[31m${msg.message}\x1b[0m\r\n`);
        }
      },
      onClose: (_wasReady, close) => {
        // The server closes the socket after "exit"; that is the end, not a lost connection.
        if (exited.current) return;
        // The session ended elsewhere: sign in again rather than reconnect with it.
        if (close.code === WS_UNAUTHORIZED) return signedOut.current();
        if (close.code === WS_NOT_FOUND) {
          // The terminal exited or was closed meanwhile; the server says so in the reason.
          exited.current = true;
          t.write(`\r\n\x1b[2m[${close.reason || 'this terminal is no longer open'}]\x1b[0m\r\n`);
          latest.current.onExit();
        } else if (close.code === WS_RECONNECT && retries.current < RECONNECT_ATTEMPTS) {
          // The agent moves to another replica (or comes back): attach again by id shortly.
          retries.current += 1;
          setTimeout(() => setConnection((n) => n + 1), 1000);
        } else setDisconnected(true);
      },
    });
    socket.current = s;
    setDisconnected(false);
    return () => {
      s.close(latest.current.endOnUnmount.current);
      socket.current = null;
    };
  }, [connection]);

  useEffect(() => {
    if (term.current) term.current.options.theme = THEMES[scheme];
  }, [scheme]);

  // A tab that becomes visible has a size again: fit it and give it the keyboard.
  useEffect(() => {
    if (!props.active) return;
    const raf = requestAnimationFrame(() => {
      const el = host.current;
      if (el && el.clientWidth > 0) fit.current?.fit();
      term.current?.focus();
    });
    return () => cancelAnimationFrame(raf);
  }, [props.active]);

  return (
    <div style={{ position: 'relative' }}>
      <div
        ref={host}
        data-testid="terminal"
        style={{
          height: 'min(60vh, 520px)',
          minHeight: 240,
          padding: 6,
          borderRadius: 6,
          background: THEMES[scheme].background,
          border: '1px solid var(--mantine-color-default-border)',
        }}
      />
      {disconnected && (
        <Group
          gap="sm"
          p="xs"
          style={{
            position: 'absolute',
            top: 8,
            right: 8,
            background: 'var(--mantine-color-body)',
            borderRadius: 6,
          }}
        >
          <Text size="sm">Disconnected.</Text>
          <Button size="compact-sm" onClick={() => setConnection((n) => n + 1)}>
            Reconnect
          </Button>
        </Group>
      )}
    </div>
  );
}
