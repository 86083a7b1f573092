// Where the real Claude Code CLI is, and the environment that runs it headless against the model
// stub (test/support/modelStub.ts) with no other network traffic. Checked against 2.1.330 by
// tracing connect(2) and DNS queries: with this environment the binary connects to
// ANTHROPIC_BASE_URL only. docs/claudeCodeProtocol.md has the details.
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Absolute path of the native `claude` binary of the installed @anthropic-ai/claude-code. */
export function claudeBinary(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@anthropic-ai/claude-code/package.json');
  return realpathSync(join(dirname(pkg), 'bin', 'claude.exe'));
}

export interface ClaudeEnvOptions {
  /** The stub's URL, e.g. `http://127.0.0.1:40123`. */
  baseUrl: string;
  apiKey: string;
  /** A fresh temporary directory: the CLI keeps settings, transcripts and caches under it. */
  home: string;
}

/** A minimal environment for `claude -p`; nothing of the test runner's environment leaks in. */
export function claudeEnv(opts: ClaudeEnvOptions): NodeJS.ProcessEnv {
  return {
    // Transcripts (~/.claude/projects), ~/.claude.json and the device id live here, so each test
    // starts as a first run and `--resume` finds only its own sessions.
    HOME: opts.home,
    // The Bash tool runs commands with this PATH; the CLI itself needs nothing from it.
    PATH: '/usr/bin:/bin',
    // Model requests go to the stub with a key the stub may check.
    ANTHROPIC_BASE_URL: opts.baseUrl,
    ANTHROPIC_API_KEY: opts.apiKey,
    // The one switch that matters: without it the CLI sends `HEAD /api/hello` to the base URL as a
    // connection warm-up and opens a connection to api.anthropic.com:443 (DNS lookups, or CONNECT
    // through a proxy), even with DISABLE_TELEMETRY, DISABLE_AUTOUPDATER and DISABLE_ERROR_REPORTING
    // all set.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // The narrower switches, so each concern stays off should the umbrella above ever shrink:
    // usage telemetry, the self-updater (a native binary would otherwise check for and download
    // new versions) and crash reports.
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    // The CLI's scratch space (background task output, its messaging socket, a file-watch probe):
    // /tmp/claude-<uid> and /tmp/cc-socks by default, where killed test processes leave sockets
    // behind. Under HOME it goes away with the test's directory; the CLI creates it.
    CLAUDE_CODE_TMPDIR: join(opts.home, 'tmp'),
  };
}
