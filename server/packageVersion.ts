import { readFileSync } from 'node:fs';

/**
 * This installation's version from package.json, which is one level up from server/ and cli/ in
 * the source tree and two from dist/server and dist/cli.
 */
export function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === 'remote-claude') return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}
