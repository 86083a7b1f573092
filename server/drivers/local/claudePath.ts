import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The Claude Code binary of the installed `@anthropic-ai/claude-code` package (its native
 * `bin/claude.exe`), resolved through symlinks so bwrap binds the file itself; undefined when the
 * package or the binary is missing. Passed as `LocalDriverConfig.claudePath`.
 */
export function defaultClaudePath(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@anthropic-ai/claude-code/package.json');
    return realpathSync(join(dirname(pkg), 'bin', 'claude.exe'));
  } catch {
    return undefined;
  }
}
