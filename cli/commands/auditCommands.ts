import type { Command } from 'commander';
import { AuditQuery } from '../../sdk/wire.js';
import { type CliContext, CliError } from '../context.js';
import { json, table } from '../output.js';

export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('read the audit log (admins)')
    .command('list')
    .description('list audit entries, newest first')
    .option('--actor <idOrEmail>', 'only this actor')
    .option('--action <action>', 'only this action, or a prefix ending in "." (e.g. auth.)')
    .option('--target <id>', 'only this target id (or type:id)')
    .option('--from <time>', 'from this ISO 8601 time')
    .option('--to <time>', 'up to this ISO 8601 time')
    .option('--limit <n>', 'entries per page (1-500)', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print JSON (includes the next cursor)')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const { json: asJson, ...query } = o;
      const parsed = AuditQuery.safeParse(query);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new CliError(`--${String(issue?.path[0] ?? 'option')} ${issue?.message ?? 'is not valid'}`);
      }
      const page = await ctx.client({}).listAudit(parsed.data);
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
      if (page.next) ctx.out(`\nMore: rclaude audit list --cursor ${page.next}`);
    });
}
