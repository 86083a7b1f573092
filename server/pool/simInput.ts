// What `rclaude sim` reads: a workload trace (JSONL, one task per line) and the simulator's config
// (YAML or JSON: seed 000's `pooling` block, the node type with its prices and boot time, quotas),
// each checked with zod so a bad line or key is named — and `generateTrace`, which makes traces.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkPoolRules, Duration } from '../config/configSchema.js';
import type { Limits } from '../scheduler/schedulerCore.js';
import type { PoolLimits } from './autoscaler.js';
import { type NodeType, seededRandom, type TraceTask } from './poolSim.js';

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
/** Bytes, or a size like "512M", "4G", "4Gi". */
const BYTES_ERROR = 'must be a number of bytes or a size like "512M" or "4G"';
const Bytes = z.union(
  [
    z.number().int().positive(),
    z
      .string()
      .regex(/^\d+(\.\d+)?[KMGT]i?$/)
      .transform((s) =>
        Math.round(Number.parseFloat(s) * (UNITS[s.replace(/[\d.]/g, '')[0] as string] ?? 1)),
      ),
  ],
  { error: BYTES_ERROR },
);
const Seconds = z.number().nonnegative({ error: 'must be a number of seconds, 0 or more' });

/** One line of a trace. `at` is seconds from the trace's start, or an ISO time. */
export const TraceLine = z.strictObject({
  id: z.string().min(1).optional(),
  at: z.union([Seconds, z.iso.datetime({ error: 'must be seconds from the start or an ISO time' })]),
  user: z.string().min(1),
  repository: z.string().min(1),
  cpu: z.number().positive().default(1),
  memory: Bytes.default(4 * 2 ** 30),
  duration: z.number().positive({ error: 'must be a positive number of seconds' }),
  idleAfter: Seconds.default(0),
  priority: z.enum(['low', 'normal', 'high']).optional(),
});

export class SimInputError extends Error {
  override name = 'SimInputError';
}

const issueText = (e: z.ZodError) =>
  e.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');

/** Parses a JSONL trace; throws SimInputError naming the line and the field. */
export function parseTrace(text: string): TraceTask[] {
  const tasks: TraceTask[] = [];
  let startMs: number | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new SimInputError(`trace line ${i + 1}: not JSON (${(err as Error).message})`);
    }
    const line = TraceLine.safeParse(json);
    if (!line.success) throw new SimInputError(`trace line ${i + 1}: ${issueText(line.error)}`);
    const v = line.data;
    let atMs: number;
    if (typeof v.at === 'number') atMs = Math.round(v.at * 1000);
    else {
      const t = Date.parse(v.at);
      startMs ??= t;
      atMs = t - startMs;
      if (atMs < 0) throw new SimInputError(`trace line ${i + 1}: at: is before the trace's first line`);
    }
    tasks.push({
      id: v.id ?? `t${i + 1}`,
      atMs,
      user: v.user,
      repository: v.repository,
      cpu: v.cpu,
      memoryBytes: v.memory,
      durationMs: Math.round(v.duration * 1000),
      idleAfterMs: Math.round(v.idleAfter * 1000),
      priority: v.priority,
    });
  }
  if (tasks.length === 0) throw new SimInputError('the trace has no tasks');
  return tasks;
}

/**
 * The simulator's config. Seed 000's `pooling` block as it is: `scaling.enabled: false` keeps the
 * pool at minInstances; `enabled: false` is refused (there would be no pool to simulate).
 */
export const SimConfig = z
  .strictObject({
    pooling: z
      .strictObject({
        enabled: z
          .boolean()
          .optional()
          .refine((on) => on !== false, { error: 'false leaves no pool to simulate; leave it out or true' }),
        minInstances: z.int().min(0).default(0),
        maxInstances: z.int().min(1).default(10),
        instanceType: z.string().optional(),
        idleTimeout: Duration.default(900),
        taskTimeout: Duration.optional(),
        maxTasksPerInstance: z.int().min(1).default(5),
        scaling: z
          .strictObject({
            enabled: z.boolean().default(true),
            targetUtilization: z.number().gt(0).lte(1).default(0.7),
            scaleUpThreshold: z.number().gt(0).lte(1).default(0.8),
            scaleDownThreshold: z.number().gte(0).lt(1).default(0.3),
            cooldownPeriod: Duration.default(300),
          })
          .prefault({}),
      })
      .superRefine(checkPoolRules)
      .refine((p) => p.scaling.targetUtilization <= p.scaling.scaleUpThreshold, {
        error: 'targetUtilization must not be above scaleUpThreshold',
        path: ['scaling', 'targetUtilization'],
      })
      .prefault({}),
    instance: z
      .strictObject({
        cpu: z.number().positive().default(8),
        memory: Bytes.default(32 * 2 ** 30),
        onDemandPerHour: z.number().nonnegative().default(0.3328),
        spotPerHour: z.number().nonnegative().default(0.1331),
        bootTime: z
          .strictObject({ min: Duration.default(60), max: Duration.default(120) })
          .refine((b) => b.min <= b.max, { error: 'min must not exceed max', path: ['min'] })
          .prefault({}),
      })
      .prefault({}),
    workspaceStart: Duration.default(5),
    quotas: z
      .strictObject({
        maxConcurrentTasks: z.int().min(1).default(3),
        maxRunningWorkspaces: z.int().min(1).default(5),
      })
      .prefault({}),
    fairShareHalfLife: Duration.default(604_800),
    seed: z.int().default(1),
  })
  .prefault({});
export type SimConfig = z.infer<typeof SimConfig>;

export interface SimSettings {
  limits: PoolLimits;
  /** pooling.scaling.enabled: false keeps the pool at minInstances. */
  scaling: boolean;
  node: NodeType;
  bootDelayMs: { min: number; max: number };
  startDelayMs: number;
  userLimits: Limits;
  halfLifeMs: number;
  seed: number;
}

/** Parses the config file's text (YAML or JSON); throws SimInputError naming the key. */
export function parseSimConfig(text: string): SimSettings {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : parseYaml(text);
  } catch (err) {
    throw new SimInputError(`config: not valid YAML or JSON (${(err as Error).message})`);
  }
  const parsed = SimConfig.safeParse(raw ?? {});
  if (!parsed.success) throw new SimInputError(`config: ${issueText(parsed.error)}`);
  return settingsOf(parsed.data);
}

export function settingsOf(c: SimConfig): SimSettings {
  const p = c.pooling;
  return {
    scaling: p.scaling.enabled,
    limits: {
      minInstances: p.minInstances,
      maxInstances: p.maxInstances,
      targetUtilization: p.scaling.targetUtilization,
      scaleUpThreshold: p.scaling.scaleUpThreshold,
      scaleDownThreshold: p.scaling.scaleDownThreshold,
      cooldownMs: p.scaling.cooldownPeriod * 1000,
      idleTimeoutMs: p.idleTimeout * 1000,
    },
    node: {
      cpu: c.instance.cpu,
      memoryBytes: c.instance.memory,
      maxWorkspaces: p.maxTasksPerInstance,
      onDemandPerHour: c.instance.onDemandPerHour,
      spotPerHour: c.instance.spotPerHour,
    },
    bootDelayMs: { min: c.instance.bootTime.min * 1000, max: c.instance.bootTime.max * 1000 },
    startDelayMs: c.workspaceStart * 1000,
    userLimits: {
      concurrentTasks: c.quotas.maxConcurrentTasks,
      runningWorkspaces: c.quotas.maxRunningWorkspaces,
      monthlySeconds: Number.POSITIVE_INFINITY,
    },
    halfLifeMs: c.fairShareHalfLife * 1000,
    seed: c.seed,
  };
}

export interface GenerateOptions {
  users: number;
  days: number;
  seed: number;
  /** Tasks a user starts on an average weekday. */
  tasksPerDay: number;
  /** Shortest and longest task, in minutes (drawn log-uniformly). */
  minMinutes: number;
  maxMinutes: number;
}

/**
 * A synthetic trace: each user works weekdays 08:00–19:00 (arrivals peak late morning and mid
 * afternoon), a tenth as much at weekends, on one to three repositories; tasks last
 * minMinutes–maxMinutes (log-uniform), a repository's next task comes 1–5 minutes after the one
 * before ends, and a workspace idles 5–20 minutes after each.
 */
export function generateTrace(o: GenerateOptions): TraceTask[] {
  const random = seededRandom(o.seed);
  const tasks: TraceTask[] = [];
  // The weekday arrival curve by hour: two humps, 10–12 and 14–16.
  const curve = [0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1, 1.6, 1.6, 0.8, 1.2, 1.6, 1.5, 1, 0.6, 0.3, 0, 0, 0, 0, 0];
  const curveSum = curve.reduce((a, b) => a + b, 0);
  let n = 0;
  for (let u = 0; u < o.users; u++) {
    const user = `user${String(u + 1).padStart(3, '0')}`;
    const repos = 1 + Math.floor(random() * 3);
    const heavy = 0.5 + random() * 1.5;
    // A developer starts a task on a repository once the one before on it is done (and looked at).
    const freeAt = new Map<string, number>();
    for (let day = 0; day < o.days; day++) {
      const weekend = day % 7 >= 5;
      for (let hour = 0; hour < 24; hour++) {
        const rate = ((o.tasksPerDay * heavy * (curve[hour] as number)) / curveSum) * (weekend ? 0.1 : 1);
        // Poisson arrivals in the hour (Knuth's method; rates are small).
        let k = 0;
        for (let p = random(); p > Math.exp(-rate); p *= random()) k++;
        for (let i = 0; i < k; i++) {
          const repository = `repo${1 + Math.floor(random() * repos)}`;
          const drawn = ((day * 24 + hour) * 3600 + Math.floor(random() * 3600)) * 1000;
          const atMs = Math.max(drawn, freeAt.get(repository) ?? 0);
          const minutes = o.minMinutes * (o.maxMinutes / o.minMinutes) ** random();
          freeAt.set(repository, atMs + Math.round((minutes + 1 + random() * 4) * 60_000));
          tasks.push({
            id: `t${++n}`,
            atMs,
            user,
            repository,
            cpu: random() < 0.8 ? 1 : 2,
            memoryBytes: (random() < 0.7 ? 2 : 4) * 2 ** 30,
            durationMs: Math.round(minutes * 60_000),
            idleAfterMs: Math.round((5 + random() * 15) * 60_000),
          });
        }
      }
    }
  }
  return tasks.sort((a, b) => a.atMs - b.atMs || Number(a.id.slice(1)) - Number(b.id.slice(1)));
}

/** A trace as JSONL, `at` in seconds from the start. */
export function traceToJsonl(tasks: readonly TraceTask[]): string {
  return tasks
    .map((t) =>
      JSON.stringify({
        id: t.id,
        at: t.atMs / 1000,
        user: t.user,
        repository: t.repository,
        cpu: t.cpu,
        memory: t.memoryBytes,
        duration: t.durationMs / 1000,
        idleAfter: t.idleAfterMs / 1000,
        ...(t.priority ? { priority: t.priority } : {}),
      }),
    )
    .join('\n')
    .concat('\n');
}
