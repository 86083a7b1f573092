// `rclaude sim generate` and `rclaude sim` as a newcomer runs them: the real CLI (node
// bin/rclaude.js) with files in a scratch directory; no server involved.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './support/ensureBuilt.js';
import { expectFailure, type Run, rclaude } from './support/rclaude.js';

/** Exit 0; stdout. (Notes such as "wrote …" go to stderr.) */
const ok = (r: Run) => {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

let scratch: string;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'rclaude-sim-test-'));
  await ensureBuilt();
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('rclaude sim', () => {
  it('generates a trace, simulates it beside the baselines, and writes the same report twice', async () => {
    const trace = join(scratch, 'trace.jsonl');
    ok(await rclaude(scratch, ['sim', 'generate', '--users', '10', '--days', '2', '--out', trace]));
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(20);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      user: expect.any(String),
      duration: expect.any(Number),
    });

    const config = join(scratch, 'sim.yaml');
    writeFileSync(
      config,
      'pooling: {minInstances: 0, maxInstances: 10}\ninstance: {bootTime: {min: 90s, max: 90s}}\n',
    );
    const run = async (report: string) =>
      ok(
        await rclaude(scratch, [
          'sim',
          '--trace',
          trace,
          '--config',
          config,
          '--target-tracking',
          '1,0.8',
          '--report',
          join(scratch, report),
        ]),
      );
    const out = await run('a.html');
    expect(out).toMatch(/^run\s+cost\s+cost \(spot\)\s+× per-task/);
    for (const row of [
      'pool (autoscaler)',
      'target tracking 100 %',
      'target tracking 80 %',
      'one instance per task',
    ])
      expect(out).toContain(row);
    expect(await run('b.html')).toBe(out);
    const html = readFileSync(join(scratch, 'a.html'), 'utf8');
    expect(html).toBe(readFileSync(join(scratch, 'b.html'), 'utf8'));
    expect(html).toContain('<svg');
    expect(html).toContain('Pool size (nodes)');
  }, 60_000);

  it('names the bad line, key or flag', async () => {
    const trace = join(scratch, 'bad.jsonl');
    writeFileSync(
      trace,
      '{"at": 0, "user": "u", "repository": "r", "duration": 60}\n{"at": 1, "user": "u"}\n',
    );
    expectFailure(await rclaude(scratch, ['sim', '--trace', trace]), /trace line 2: repository: /);
    const good = join(scratch, 'good.jsonl');
    writeFileSync(good, '{"at": 0, "user": "u", "repository": "r", "duration": 60}\n');
    const config = join(scratch, 'bad.yaml');
    writeFileSync(config, 'pooling: {minInstances: 5, maxInstances: 2}\n');
    expectFailure(
      await rclaude(scratch, ['sim', '--trace', good, '--config', config]),
      /config: pooling.minInstances: minInstances must not exceed maxInstances/,
    );
    expectFailure(
      await rclaude(scratch, ['sim', '--trace', good, '--target-tracking', '1.5']),
      /--target-tracking must be a comma-separated list/,
    );
    expectFailure(await rclaude(scratch, ['sim', '--json']), /--trace <file> is required/);
    // Typed alone it is a group like the others: its help, exit 0.
    expect(ok(await rclaude(scratch, ['sim']))).toMatch(/^Usage: rclaude sim \[options\] \[command\]/);
    expectFailure(
      await rclaude(scratch, ['sim', '--trace', join(scratch, 'none.jsonl')]),
      /could not read the trace/,
    );
    expectFailure(
      await rclaude(scratch, ['sim', 'generate', '--users', '0']),
      /--users must be from 1 to 100000/,
    );
    expectFailure(
      await rclaude(scratch, ['sim', 'generate', '--min-minutes', '50', '--max-minutes', '10']),
      /--min-minutes must not be above --max-minutes/,
    );
  }, 60_000);
});
