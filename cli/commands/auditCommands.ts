import type { Command } from 'commander';
import { AuditQuery } from '../../sdk/wire.js';
import { CliError } from '../cliError.js';
import { addServerOptions, type CliContext, type ServerOptions } from '../context.js';
import { flagError } from '../flagError.js';
import { json, table } from '../output.js';

const TIME_RULE = 'must be an ISO 8601 time with a zone, e.g. 2026-01-31T09:00:00Z';
const DEFAULT_LIMIT = '50';
const LIMIT_RULE = 'must be a whole number from 1 to 500';

type AuditFlags = ServerOptions & {
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
  limit: string;
  cursor?: string;
  json?: boolean;
};

export function registerAudit(program: Command, ctx: CliContext): void {
  const list = program
    .command('audit')
    .description('read the audit log (admins)')
    .command('list')
    .description('list audit entries, newest first')
    .option('--actor <idOrEmail>', 'only this actor')
    .option('--action <action>', 'only this action, or a prefix ending in "." (e.g. auth.)')
    .option('--target <id>', 'only this target id (or type:id)')
    .option('--from <time>', 'from this ISO 8601 time')
    .option('--to <time>', 'up to this ISO 8601 time')
    .option('--limit <n>', 'entries per page (1-500)', DEFAULT_LIMIT)
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print JSON (includes the next cursor)');
  addServerOptions(list).action(async (o: AuditFlags) => {
    const { json: asJson, url, token, ...query } = o;
    const parsed = AuditQuery.safeParse(query);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path[0];
      const rule =
        field === 'from' || field === 'to' ? TIME_RULE : field === 'limit' ? LIMIT_RULE : undefined;
      if (rule)
        throw new CliError(`--${String(field)} ${rule}, got "${query[field as 'from' | 'to' | 'limit']}"`);
      throw flagError(parsed.error);
    }
    const page = await ctx.client({ url, token }).audit.list(parsed.data);
    if (asJson) return ctx.out(json(page));
    ctx.out(
      table(page.items, [
        ['time', (e) => e.at.replace('T', ' ').slice(0, 19)],
        ['actor', (e) => e.actorEmail ?? e.actorId],
        ['action', (e) => e.action],
        ['target', (e) => (e.targetId ? `${e.targetType ?? ''}:${e.targetId}` : null)],
        ['result', (e) => e.result],
        ['ip', (e) => e.ip],
      ]),
    );
    if (page.next) ctx.out(`\nMore: ${nextPageCommand(o, page.next)}`);
  });
}

/** The same command with the same filters, continuing at `cursor`. */
function nextPageCommand(o: AuditFlags, cursor: string): string {
  const args = ['rclaude audit list'];
  for (const key of ['actor', 'action', 'target', 'from', 'to', 'limit', 'url'] as const) {
    const value = o[key];
    if (value !== undefined && !(key === 'limit' && value === DEFAULT_LIMIT))
      args.push(`--${key} ${shellQuote(value)}`);
  }
  args.push(`--cursor ${cursor}`);
  return args.join(' ');
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
