import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_AGENT_FRAME_BYTES } from '../sdk/agentProtocol.js';
import type { RpcError } from '../sdk/rpcPeer.js';
import { buildAgent, TestAgent, type TestConnection } from './agentHarness.js';

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

interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}
const exec = (params: Record<string, unknown>) => conn.peer.request<ExecResult>('exec', params);

describe('exec', () => {
  it('runs argv without a shell, in the workspace or a directory inside it', async () => {
    await mkdir(path.join(agent.workspace, 'sub'));
    expect(await exec({ argv: ['echo', '$HOME', 'a b'] })).toEqual({
      exitCode: 0,
      signal: null,
      stdout: '$HOME a b\n',
      stderr: '',
      timedOut: false,
    });
    expect((await exec({ argv: ['pwd'] })).stdout).toBe(`${agent.workspace}\n`);
    expect((await exec({ argv: ['pwd'], cwd: 'sub' })).stdout).toBe(`${path.join(agent.workspace, 'sub')}\n`);
    const failed = await exec({ argv: ['sh', '-c', 'echo oops >&2; exit 7'] });
    expect(failed).toMatchObject({ exitCode: 7, stderr: 'oops\n' });
  });

  it('feeds stdin', async () => {
    expect((await exec({ argv: ['cat'], stdin: 'from stdin\n' })).stdout).toBe('from stdin\n');
    // Without stdin the program sees end of input at once rather than hanging.
    expect((await exec({ argv: ['cat'] })).stdout).toBe('');
  });

  it('kills the whole process group on timeout', async () => {
    const started = Date.now();
    const result = await exec({ argv: ['sh', '-c', 'sleep 30 & sleep 30; echo never'], timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    expect(result.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('truncates big output with a marker, within one message', async () => {
    const result = await exec({ argv: ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" a'] });
    const match = result.stdout.match(/^(a+)\n\[output truncated: (\d+) more bytes\]\n$/);
    const kept = match?.[1]?.length ?? 0;
    expect(kept).toBeGreaterThan(1_000_000);
    expect(Number(match?.[2])).toBe(3_000_000 - kept);
    // Both streams big, one full of characters JSON escapes six-fold: each gets half the room.
    const both = await exec({
      argv: ['sh', '-c', 'head -c 2000000 /dev/zero | tr "\\0" b; head -c 2000000 /dev/zero >&2'],
    });
    expect(both.stdout).toMatch(/^b+\n\[output truncated: \d+ more bytes\]\n$/);
    expect(both.stderr).toMatch(/^\0+\n\[output truncated: \d+ more bytes\]\n$/);
    expect(Buffer.byteLength(JSON.stringify(both))).toBeLessThan(MAX_AGENT_FRAME_BYTES);
    // The connection survived.
    expect((await exec({ argv: ['true'] })).exitCode).toBe(0);
  });

  it('answers spawn_failed for a missing program and not_found for a missing cwd', async () => {
    const missing = (await exec({ argv: ['no-such-program-xyz'] }).catch((e) => e)) as RpcError;
    expect(missing.reason).toBe('spawn_failed');
    expect(missing.message).toContain('no-such-program-xyz');
    const noDir = (await exec({ argv: ['true'], cwd: 'nowhere' }).catch((e) => e)) as RpcError;
    expect(noDir.reason).toBe('not_found');
  });
});
