import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { json } from '../output.js';
import { addConfigFlags, type ConfigFlags, configFromFlags } from './serveCommand.js';

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('inspect configuration');
  addConfigFlags(config.command('print').description('print the effective configuration, secrets redacted'))
    .option('--json', 'print JSON instead of YAML')
    .action(async (f: ConfigFlags & { json?: boolean }) => {
      const config = await configFromFlags(ctx, f);
      const { redactConfig } = await import('../../server/config/loadConfig.js');
      const redacted = redactConfig(config);
      ctx.out(f.json ? json(redacted) : (await import('yaml')).stringify(redacted).trimEnd());
    });
}
