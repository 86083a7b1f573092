import type { Command } from 'commander';
import { stringify } from 'yaml';
import { redactConfig } from '../../server/config/loadConfig.js';
import type { CliContext } from '../context.js';
import { json } from '../output.js';
import { addConfigFlags, type ConfigFlags, configFromFlags } from './serveCommand.js';

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('inspect configuration');
  addConfigFlags(config.command('print').description('print the effective configuration, secrets redacted'))
    .option('--json', 'print JSON instead of YAML')
    .action((f: ConfigFlags & { json?: boolean }) => {
      const redacted = redactConfig(configFromFlags(ctx, f));
      ctx.out(f.json ? json(redacted) : stringify(redacted).trimEnd());
    });
}
