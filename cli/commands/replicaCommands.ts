import type { Command } from 'commander';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { json, table } from '../output.js';

/** "2026-01-01T10:00:05.000Z" → "2026-01-01 10:00:05". */
const time = (iso: string) => iso.slice(0, 19).replace('T', ' ');

export function registerReplicas(program: Command, ctx: CliContext): void {
  const replicas = program
    .command('replicas')
    .description('list the control-plane replicas sharing the database (admins)')
    .option('--json', 'print JSON');
  addServerOptions(replicas).action(async (o: ServerOptions & { json?: boolean }) => {
    const { items } = await ctx.client(o).reports.replicas();
    if (o.json) return ctx.out(json(items));
    ctx.out(
      table(items, [
        ['id', (r) => (r.self ? `${r.id} *` : r.id)],
        ['address', (r) => r.address],
        ['version', (r) => r.version],
        ['schema', (r) => r.schemaVersion],
        ['started', (r) => time(r.startedAt)],
        ['heartbeat', (r) => time(r.heartbeatAt)],
        ['alive', (r) => (r.alive ? 'yes' : 'no')],
        ['agents', (r) => r.agents],
      ]),
    );
    ctx.out('\n* the replica that answered');
  });
}
