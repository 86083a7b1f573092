// Renders the configuration reference (docs/configuration.md) from the schema's descriptions, so
// the documentation cannot drift from the code: a test compares the file with this output.
import { ConfigSchema, secretPaths } from './configSchema.js';
import { ENV_ALIASES } from './loadConfig.js';

interface Def {
  type: string;
  innerType?: { def: Def; description?: string };
  in?: { def: Def };
  shape?: Record<string, { def: Def; description?: string }>;
  defaultValue?: unknown;
}

/** Config path → its stable env var name (the inverse of ENV_ALIASES). */
const ENV_FOR = Object.fromEntries(Object.entries(ENV_ALIASES).map(([name, path]) => [path, name]));

function genericEnv(path: string): string {
  return `RC_${path
    .split('.')
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('__')}`;
}

function describe(node: { def: Def; description?: string }): {
  def: Def;
  description?: string;
  fallback?: unknown;
} {
  let cur: { def: Def; description?: string } = node;
  let description = node.description;
  let fallback: unknown;
  for (;;) {
    if ((cur.def.type === 'default' || cur.def.type === 'prefault') && fallback === undefined) {
      fallback = cur.def.defaultValue;
    }
    const inner = cur.def.innerType ?? (cur.def.type === 'pipe' ? cur.def.in : undefined);
    if (!inner) break;
    cur = inner;
    description ??= cur.description;
  }
  return { def: cur.def, ...(description ? { description } : {}), fallback };
}

function rows(
  shape: Record<string, { def: Def; description?: string }>,
  prefix: string,
  out: string[],
): void {
  for (const [key, node] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const { def, description, fallback } = describe(node);
    if (def.type === 'object' && def.shape) {
      rows(def.shape, path, out);
      continue;
    }
    const shown = fallback === undefined ? '' : `\`${JSON.stringify(fallback)}\``.replace(/\|/g, '\\|');
    const secret = (secretPaths as readonly string[]).includes(path) || path === 'database.url';
    const names = [...new Set([ENV_FOR[path], genericEnv(path)].filter(Boolean))].map((n) => `\`${n}\``);
    const text = `${(description ?? '').replace(/\|/g, '\\|')}${secret && !/Secret/.test(description ?? '') ? ' Secret.' : ''}`;
    out.push(`| \`${path}\` | ${shown} | ${names.join(', ')} | ${text} |`);
  }
}

export function configReference(): string {
  const out: string[] = [];
  rows((ConfigSchema as unknown as { def: Def }).def.shape ?? {}, '', out);
  return `# Configuration reference

Generated from \`server/config/configSchema.ts\` by \`npm run docs:config\`; a test fails when this
file and the schema disagree. Sources, later wins: defaults < YAML file (\`--config\` or \`RC_CONFIG\`)
< environment < command-line flags. Any key can be set from the environment with the generic
\`RC_SECTION__KEY\` form shown (\`__\` between levels, \`_\` between words); values that look like
numbers, booleans or JSON arrays are read as such. \`RC_EGRESS_ALLOW=host1,host2:port\` adds to
\`egress.allow\`. Strings in the YAML file may use \`\${NAME}\` to take a value from the environment.
A bad value stops startup with the key path, the rule it broke and where it came from.
\`rclaude config print\` shows the effective configuration with secrets redacted.

The file also accepts the seed documents' shapes: \`ec2.pooling\` / \`ec2.security\` (read as
\`pooling\` / \`isolation\`), \`users.quotas\` / \`users.preferences\` (read as \`quotas\` /
\`userDefaults\`), and \`auth.oauth: {provider, clientId, clientSecret}\` (read as \`auth.oidc\`; the
provider names google, microsoft and gitlab map to their issuers).

| key | default | environment | description |
| --- | --- | --- | --- |
${out.join('\n')}
`;
}
