// A cluster run killed before its teardown leaves replicas, detached agents, a schema and a
// directory behind; the next run's start clears them (cluster.ts clearLeftovers), and leaves
// alone the runs of test processes still alive.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { clearLeftovers, RUNS_DIR } from './cluster.js';
import { isLivePid } from './sharedHostAgentDriver.js';
import { dropSchema, PG_URL, uniqueSchema } from './testDb.js';

const sleeper = (name: string) =>
  // A process whose command line names what it stands for, in a process group of its own.
  spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', name], { detached: true, stdio: 'ignore' });

describe('clearing what a killed cluster run left', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });
  const schemaExists = async (schema: string) => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const { rows } = await client.query(
        'select 1 from information_schema.schemata where schema_name = $1',
        [schema],
      );
      return rows.length === 1;
    } finally {
      await client.end();
    }
  };
  const run = async (owner: number) => {
    const dir = join(RUNS_DIR, `${owner}-leftover${Math.random().toString(16).slice(2, 6)}`);
    const schema = uniqueSchema();
    schemas.push(schema);
    await dropSchema(schema);
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`create schema ${schema}`);
    await client.end();
    mkdirSync(join(dir, 'boxes', 'w1'), { recursive: true });
    writeFileSync(join(dir, 'schema'), schema);
    const agent = sleeper('agent.js');
    const replica = sleeper('clusterReplica.js');
    writeFileSync(join(dir, 'boxes', 'w1', 'pid'), String(agent.pid));
    writeFileSync(join(dir, 'replica-pids'), `${replica.pid}\n`);
    agent.unref();
    replica.unref();
    return { dir, schema, agent: agent.pid as number, replica: replica.pid as number };
  };

  it('kills the dead run’s replicas and agents, drops its schema and removes its directory; a live run stays', async () => {
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    const dead = await run(gone.pid as number);
    const alive = await run(process.pid);
    try {
      await clearLeftovers();
      await expect
        .poll(() => isLivePid(dead.agent) || isLivePid(dead.replica), { timeout: 5000 })
        .toBe(false);
      expect(await schemaExists(dead.schema)).toBe(false);
      expect(existsSync(dead.dir)).toBe(false);
      // This process is alive: its run is nobody's leftover.
      expect(isLivePid(alive.agent) && isLivePid(alive.replica)).toBe(true);
      expect(await schemaExists(alive.schema)).toBe(true);
      expect(existsSync(alive.dir)).toBe(true);
    } finally {
      for (const pid of [alive.agent, alive.replica, dead.agent, dead.replica]) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      rmSync(alive.dir, { recursive: true, force: true });
    }
  });
});
