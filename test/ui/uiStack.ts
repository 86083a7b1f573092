// Everything the UI tests (and `npm run dev:stack`) run against: a real control plane listening on
// loopback with the local driver, a git server to clone from, and the scripted model stub that the
// real claude CLI in each workspace talks to through the gateway.
import { mkdtempSync } from 'node:fs';
import { loadConfig } from '../../server/config/loadConfig.js';
import { type RunningServer, startServer } from '../../server/serve.js';
import { type GitHttpServer, startGitHttpServer } from '../support/gitHttpServer.js';
import { type ModelStub, type Scenario, startModelStub } from '../support/modelStub.js';
import { FAST_ARGON2, TEST_CGROUP_PARENT } from '../support/testApp.js';

export const ADMIN_EMAIL = 'admin@ui.test';
export const ADMIN_PASSWORD = 'ui admin passphrase';
const ORG_KEY = 'sk-ant-org-ui-test-key-0123456789';

/** Scenarios the UI tests play; a prompt picks one with "[scenario:NAME]". */
export const UI_SCENARIOS: Record<string, Scenario> = {
  // Write (asks), Edit of the same file (asks), Bash (asks), an answer in Markdown, then a
  // follow-up's answer.
  ui: {
    turns: [
      {
        content: [
          { type: 'text', text: "I'll write the notes file first." },
          {
            type: 'tool_use',
            name: 'Write',
            input: { file_path: '/workspace/notes.md', content: '# Notes\n\nfirst line\n' },
          },
        ],
      },
      {
        content: [
          {
            type: 'tool_use',
            name: 'Edit',
            input: { file_path: '/workspace/notes.md', old_string: 'first line', new_string: 'edited line' },
          },
        ],
      },
      {
        content: [
          {
            type: 'tool_use',
            name: 'Bash',
            input: { command: 'wc -l /workspace/notes.md', description: 'count lines' },
          },
        ],
      },
      {
        content: [
          {
            type: 'text',
            text: 'Done. **notes.md** now has:\n\n- a heading\n- an edited line\n\n```sh\nwc -l notes.md\n```',
          },
        ],
      },
      { content: [{ type: 'text', text: 'Follow-up answered: the notes are fine.' }] },
    ],
  },
  // A long answer streamed slowly, to watch and to interrupt.
  slow: {
    turns: [
      { content: [{ type: 'text', text: 'word '.repeat(300) }], chunkDelayMs: 40 },
      { content: [{ type: 'text', text: 'After the interrupt.' }] },
    ],
  },
};

export interface UiStack {
  server: RunningServer;
  stub: ModelStub;
  git: GitHttpServer;
  url: string;
  /** Repository URL of a test repo (app or other). */
  repo(name: 'app' | 'other'): string;
  close(): Promise<void>;
}

export async function startUiStack(
  opts: { port?: number; quiet?: boolean; webDir?: string; flags?: Record<string, unknown> } = {},
): Promise<UiStack> {
  const git = await startGitHttpServer({
    repos: {
      app: { 'README.md': '# app\n\nA test repository.\n', 'src/index.js': 'console.log("hi");\n' },
      other: { 'README.md': '# other\n' },
    },
  });
  const stub = await startModelStub({ expectedApiKey: ORG_KEY, scenarios: UI_SCENARIOS });
  const config = loadConfig({
    env: {},
    flags: {
      'server.port': opts.port ?? 0,
      // Short: agent sockets live under it and unix socket paths are limited to 107 bytes.
      dataDir: mkdtempSync('/tmp/rc-ui-'),
      'log.level': 'silent',
      'admin.email': ADMIN_EMAIL,
      'admin.password': ADMIN_PASSWORD,
      'runtime.local.cgroupParent': TEST_CGROUP_PARENT,
      'egress.allow': [`127.0.0.1:${git.port}`],
      'gateway.upstream': stub.url,
      'claude.apiKey': ORG_KEY,
      'workspaces.heartbeatIntervalMs': 1000,
      ...FAST_ARGON2,
      ...(opts.webDir ? { 'server.webDir': opts.webDir } : {}),
      ...opts.flags,
    },
  });
  const server = await startServer(config, { print: opts.quiet === false ? undefined : () => {} });
  return {
    server,
    stub,
    git,
    url: server.url,
    repo: (name) => git.url(name),
    async close() {
      for (const row of await server.services.workspaces.list()) {
        await server.services.runtime.service.remove(row.id, { keepVolume: false }).catch(() => {});
      }
      await server.close();
      await stub.close();
      await git.close();
    },
  };
}
