// `rclaude sim`: replays a workload trace through the scheduler and the autoscaler on a virtual
// clock (server/pool/poolSim.ts) beside its baselines — target tracking as ECS managed scaling
// does it, and one instance per task — and prints cost, waits and scale actions; `--report`
// writes the HTML report. `rclaude sim generate` makes a synthetic trace. Runs offline: no server.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { type PoolSimResult, simulatePool } from '../../server/pool/poolSim.js';
import {
  generateTrace,
  parseSimConfig,
  parseTrace,
  SimInputError,
  traceToJsonl,
} from '../../server/pool/simInput.js';
import { htmlReport, type ReportRow, summaryTable } from '../../server/pool/simReport.js';
import { CliError } from '../cliError.js';
import type { CliContext } from '../context.js';
import { flagError } from '../flagError.js';

const whole = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z
        .int()
        .min(min, { error: `must be from ${min} to ${max}` })
        .max(max, { error: `must be from ${min} to ${max}` }),
    );

const GenerateFlags = z.object({
  users: whole(1, 100_000),
  days: whole(1, 366),
  seed: whole(0, 2 ** 31),
  tasksPerDay: z
    .string()
    .regex(/^\d+(\.\d+)?$/, { error: 'must be a number above 0' })
    .transform(Number)
    .pipe(z.number().positive({ error: 'must be above 0' }).max(1000, { error: 'must be at most 1000' })),
  minMinutes: whole(1, 10_000),
  maxMinutes: whole(1, 10_000),
});

const Targets = z
  .string()
  .regex(/^(0?\.\d+|1(\.0+)?)(,(0?\.\d+|1(\.0+)?))*$/, {
    error: 'must be a comma-separated list of reservation targets above 0 and at most 1, e.g. "1,0.8"',
  })
  .transform((s) => s.split(',').map(Number))
  .refine((xs) => xs.every((x) => x > 0 && x <= 1), { error: 'each target must be above 0 and at most 1' });

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`could not read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

export function registerSim(program: Command, ctx: CliContext): void {
  const sim = program
    .command('sim')
    .description(
      'simulate the instance pool on a workload trace (offline): cost, waits and scale actions beside one instance per task and target tracking',
    )
    .option('--trace <file>', 'the workload trace: JSONL, one task per line (rclaude sim generate makes one)')
    .option(
      '--config <file>',
      'the simulator config (YAML or JSON: pooling, instance, quotas; see docs/simulator.md)',
    )
    .option('--report <file>', 'also write the HTML report there')
    .option(
      '--target-tracking <targets>',
      'capacity reservation targets of the target-tracking baseline',
      '1',
    )
    .option('--json', 'print the results as JSON')
    .action(
      (o: { trace?: string; config?: string; report?: string; targetTracking: string; json?: boolean }) => {
        // Typed alone, like every group: its help on stdout, exit 0.
        const given = Object.keys(o).filter((k) => sim.getOptionValueSource(k) === 'cli');
        if (given.length === 0) sim.help();
        if (!o.trace) throw new CliError('--trace <file> is required (rclaude sim generate makes a trace)');
        const targets = Targets.safeParse(o.targetTracking);
        if (!targets.success) throw flagError(targets.error, { '': '--target-tracking' });
        let rows: ReportRow[];
        try {
          const tasks = parseTrace(read(o.trace, 'trace'));
          const settings = parseSimConfig(o.config ? read(o.config, 'config') : '');
          const run = (
            policy: 'autoscaler' | 'target-tracking' | 'per-task',
            target?: number,
          ): PoolSimResult => simulatePool({ tasks, policy, target, ...settings });
          rows = [
            { label: 'pool (autoscaler)', result: run('autoscaler') },
            ...targets.data.map((t) => ({
              label: `target tracking ${Math.round(t * 100)} %`,
              result: run('target-tracking', t),
            })),
            { label: 'one instance per task', result: run('per-task') },
          ];
        } catch (err) {
          if (err instanceof SimInputError) throw new CliError(err.message);
          throw err;
        }
        if (o.json) {
          ctx.out(
            JSON.stringify(
              rows.map(({ label, result: r }) => ({ label, ...r, waits: undefined, timeline: undefined })),
              null,
              2,
            ),
          );
        } else ctx.out(summaryTable(rows));
        if (o.report) {
          writeFileSync(
            o.report,
            htmlReport({
              title: 'Remote Claude pool simulation',
              rows,
              notes: [
                'Cost is node-hours at the instance prices of the config (on-demand, and spot as the second column). Waits run from a task’s arrival to the start of its turn.',
              ],
            }),
          );
          ctx.err(`wrote ${o.report}`);
        }
      },
    );
  sim
    .command('generate')
    .description(
      'print a synthetic workload trace (JSONL): weekday arrival curve, durations drawn log-uniformly',
    )
    .option('--users <n>', 'developers', '200')
    .option('--days <n>', 'days of trace', '30')
    .option('--seed <n>', 'random seed (the same seed gives the same trace)', '1')
    .option('--tasks-per-day <n>', 'tasks an average developer starts on a weekday', '4')
    .option('--min-minutes <n>', 'shortest task', '5')
    .option('--max-minutes <n>', 'longest task', '90')
    .option('--out <file>', 'write the trace there instead of standard output')
    .action((raw: Record<string, string | undefined>) => {
      const flags = GenerateFlags.safeParse(raw);
      if (!flags.success)
        throw flagError(flags.error, {
          tasksPerDay: '--tasks-per-day',
          minMinutes: '--min-minutes',
          maxMinutes: '--max-minutes',
        });
      if (flags.data.minMinutes > flags.data.maxMinutes)
        throw new CliError('--min-minutes must not be above --max-minutes');
      const text = traceToJsonl(generateTrace(flags.data));
      if (raw.out) {
        writeFileSync(raw.out, text);
        ctx.err(`wrote ${text.split('\n').length - 1} tasks to ${raw.out}`);
      } else process.stdout.write(text);
    });
}
