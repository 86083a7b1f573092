import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Config, ConfigSchema, secretPaths } from './configSchema.js';

type Tree = Record<string, unknown>;

/** A configuration that cannot be used. `message` names every failing key path and its rule. */
export class ConfigError extends Error {
  constructor(readonly issues: { path: string; rule: string; source?: string }[]) {
    super(
      `invalid configuration:\n${issues
        .map((i) => `  ${i.path || '(root)'}: ${i.rule}${i.source ? ` (from ${i.source})` : ''}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Env vars with stable names (DESIGN §12) and the config path each sets. */
export const ENV_ALIASES: Record<string, string> = {
  RC_HOST: 'server.host',
  RC_PORT: 'server.port',
  RC_PUBLIC_URL: 'server.publicUrl',
  RC_DATA_DIR: 'dataDir',
  DATABASE_URL: 'database.url',
  RC_LOG_LEVEL: 'log.level',
  RC_LOG_FORMAT: 'log.format',
  RC_ADMIN_EMAIL: 'admin.email',
  RC_ADMIN_PASSWORD: 'admin.password',
  RC_RUNTIME: 'runtime.driver',
  RC_ANTHROPIC_UPSTREAM: 'gateway.upstream',
  ANTHROPIC_API_KEY: 'claude.apiKey',
};

/**
 * RC_* variables that are not config paths, so the generic RC_A__B form must not take them (it
 * would stop startup with "… is not a known setting"): the file and allowlist read here, the
 * CLI's RC_URL/RC_TOKEN, and the test suite's RC_TEST_DATABASE_URL (test/support/testDb.ts),
 * which a developer's shell may well export while also running `rclaude serve`.
 */
const ENV_NOT_CONFIG = new Set([
  'RC_CONFIG',
  'RC_EGRESS_ALLOW',
  'RC_URL',
  'RC_TOKEN',
  'RC_TEST_DATABASE_URL',
]);

const KNOWN_ISSUERS: Record<string, string> = {
  google: 'https://accounts.google.com',
  microsoft: 'https://login.microsoftonline.com/common/v2.0',
  gitlab: 'https://gitlab.com',
};

export interface ConfigSources {
  /** Path of a YAML file; missing or unreadable is an error. */
  file?: string | undefined;
  /** The process environment (RC_* and the stable names above). */
  env?: Record<string, string | undefined>;
  /** Values from command-line flags, keyed by config path ("server.port"). */
  flags?: Record<string, unknown>;
  /** How the user typed each flag ("--log-level"), keyed by config path, for error messages. */
  flagNames?: Record<string, string>;
}

/**
 * Build the effective configuration. Later sources win: defaults < file < env < flags.
 * Throws ConfigError naming the key path, the rule broken and where the value came from.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  const origin = new Map<string, string>();
  let merged: Tree = {};

  const file = sources.file ?? env.RC_CONFIG;
  if (file) {
    const fromFile = normaliseSeedShapes(readYamlFile(file, env));
    mark(origin, fromFile, file);
    merged = deepMerge(merged, fromFile);
  }

  const fromEnv: Tree = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    const path = ENV_ALIASES[name] ?? genericEnvPath(name);
    if (!path) continue;
    setPath(fromEnv, path, leafType(path) === 'string' ? value : parseEnvValue(value));
    origin.set(path, name);
  }
  merged = deepMerge(merged, fromEnv);

  const allow = env.RC_EGRESS_ALLOW?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const base = getPath(merged, 'egress.allow');
  // Only a list (or nothing, meaning the default list) can be added to; any other value the file
  // gave is left for the schema to reject rather than silently replaced by the defaults.
  if (allow?.length && (base === undefined || Array.isArray(base))) {
    const current = base ?? (ConfigSchema.shape.egress.parse({}).allow as string[]);
    setPath(merged, 'egress.allow', [...new Set([...current, ...allow])]);
    origin.set('egress.allow', 'RC_EGRESS_ALLOW');
  }

  for (const [path, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    setPath(merged, path, value);
    origin.set(path, sources.flagNames?.[path] ?? `flag ${path}`);
  }

  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) throw toConfigError(parsed.error, origin);
  return parsed.data;
}

function toConfigError(error: z.ZodError, origin: Map<string, string>): ConfigError {
  return new ConfigError(
    error.issues.map((issue) => {
      // An unknown key's issue sits on its parent object; report (and blame) the key itself.
      const path =
        issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys].join('.') : issue.path.join('.');
      let rule = issue.message;
      if (issue.code === 'unrecognized_keys') rule = 'is not a known setting';
      else if (issue.code === 'invalid_union') rule = unionRule(issue);
      else if (issue.code === 'invalid_type' && rule.startsWith('Invalid input'))
        rule = `must be ${issue.expected}`;
      const source = sourceOf(path, origin);
      return { path, rule, ...(source ? { source } : {}) };
    }),
  );
}

/**
 * Where the value at `path` came from: the source that set it or a section containing it, else
 * one that set something inside it (an unknown section such as `sever: {port: 1}` is marked
 * only at its leaves).
 */
function sourceOf(path: string, origin: Map<string, string>): string | undefined {
  const keys = [...origin.keys()];
  const hit =
    keys.find((p) => path === p || path.startsWith(`${p}.`)) ??
    (path ? keys.find((p) => p.startsWith(`${path}.`)) : undefined);
  return hit === undefined ? undefined : origin.get(hit);
}

/**
 * zod reports a value no branch of a union accepts as just "Invalid input". Name the rule instead:
 * the message of the branch that took the value's type but rejected it ("10 minutes" for a
 * Duration fails its duration pattern), else the types the branches accept.
 */
function unionRule(issue: z.core.$ZodIssueInvalidUnion): string {
  const firsts = issue.errors.flatMap((branch) => branch.slice(0, 1));
  const specific = firsts.find((i) => i.code !== 'invalid_type');
  if (specific) return specific.message;
  const expected = firsts.flatMap((i) => (i.code === 'invalid_type' ? [i.expected] : []));
  if (expected.length === 0) return issue.message;
  return `must be ${expected.map((e) => (/^[aeiou]/.test(e) ? `an ${e}` : `a ${e}`)).join(' or ')}`;
}

/** `RC_SERVER__BODY_LIMIT_BYTES` → `server.bodyLimitBytes`: "__" separates levels, "_" words. */
function genericEnvPath(name: string): string | undefined {
  if (!name.startsWith('RC_') || ENV_NOT_CONFIG.has(name)) return undefined;
  return name
    .slice(3)
    .split('__')
    .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
    .join('.');
}

/** The zod type name at a config path ("string", "number", "union", …), looking through wrappers. */
function leafType(path: string): string | undefined {
  type Def = {
    type: string;
    innerType?: { def: Def };
    in?: { def: Def };
    shape?: Record<string, { def: Def }>;
  };
  const unwrap = (d: Def): Def => {
    let cur = d;
    for (;;) {
      const inner = cur.innerType?.def ?? (cur.type === 'pipe' ? cur.in?.def : undefined);
      if (!inner) return cur;
      cur = inner;
    }
  };
  let def: Def | undefined = unwrap((ConfigSchema as unknown as { def: Def }).def);
  for (const key of path.split('.')) {
    const next: { def: Def } | undefined = def?.shape?.[key];
    def = next ? unwrap(next.def) : undefined;
  }
  return def?.type;
}

/** Env values are strings; numbers, booleans and JSON arrays/objects are read as such. */
function parseEnvValue(value: string): unknown {
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(value) || /^[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function readYamlFile(file: string, env: Record<string, string | undefined>): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      { path: '', rule: `cannot read config file: ${(err as Error).message}`, source: file },
    ]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError([{ path: '', rule: `not valid YAML: ${(err as Error).message}`, source: file }]);
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError([{ path: '', rule: 'must be a YAML mapping', source: file }]);
  }
  return interpolate(doc as Tree, env, file, []) as Tree;
}

/** Replace `${NAME}` in string values with the environment's value, as seed 002's file expects. */
function interpolate(
  node: unknown,
  env: Record<string, string | undefined>,
  file: string,
  path: string[],
): unknown {
  if (typeof node === 'string') {
    return node.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name: string) => {
      const value = env[name];
      if (value === undefined) {
        throw new ConfigError([
          { path: path.join('.'), rule: `refers to \${${name}}, which is not set`, source: file },
        ]);
      }
      return value;
    });
  }
  if (Array.isArray(node)) return node.map((v, i) => interpolate(v, env, file, [...path, String(i)]));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, interpolate(v, env, file, [...path, k])]),
    );
  }
  return node;
}

/**
 * Map the seed documents' shapes onto ours: seed 000 nests `pooling`/`security` under `ec2` and
 * `quotas`/`preferences` under `users`; seed 002 writes OIDC as `auth.oauth {provider, clientId, clientSecret}`.
 */
export function normaliseSeedShapes(raw: Tree): Tree {
  const out: Tree = { ...raw };
  const ec2 = takeObject(out, 'ec2');
  if (ec2) {
    if (ec2.pooling !== undefined) out.pooling = ec2.pooling;
    if (ec2.security !== undefined) out.isolation = ec2.security;
    for (const key of Object.keys(ec2)) {
      if (key !== 'pooling' && key !== 'security') out[`ec2.${key}`] = ec2[key];
    }
  }
  const users = takeObject(out, 'users');
  if (users) {
    if (users.quotas !== undefined) out.quotas = users.quotas;
    if (users.preferences !== undefined) out.userDefaults = users.preferences;
    for (const key of Object.keys(users)) {
      if (key !== 'quotas' && key !== 'preferences') out[`users.${key}`] = users[key];
    }
  }
  const auth = out.auth && typeof out.auth === 'object' ? { ...(out.auth as Tree) } : undefined;
  if (auth) {
    const oauth = takeObject(auth, 'oauth');
    if (oauth) {
      const { provider, issuer, ...rest } = oauth;
      const resolved = issuer ?? (typeof provider === 'string' ? KNOWN_ISSUERS[provider] : undefined);
      if (!resolved) {
        throw new ConfigError([
          {
            path: 'auth.oauth.issuer',
            rule: `is required for provider "${String(provider)}" (known: ${Object.keys(KNOWN_ISSUERS).join(', ')})`,
          },
        ]);
      }
      auth.oidc = { issuer: resolved, ...rest };
    }
    out.auth = auth;
  }
  return out;
}

function takeObject(tree: Tree, key: string): Tree | undefined {
  const value = tree[key];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    delete tree[key];
    return value as Tree;
  }
  return undefined;
}

/** The config with secrets replaced by "[redacted]" (and a database URL's password removed). */
export function redactConfig(config: Config): Tree {
  const copy = structuredClone(config) as unknown as Tree;
  for (const path of secretPaths) {
    if (getPath(copy, path) !== undefined) setPath(copy, path, '[redacted]');
  }
  const url = config.database.url;
  if (url) setPath(copy, 'database.url', redactUrl(url));
  return copy;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    // node-postgres also takes the password as a query parameter (pg-connection-string).
    if (u.searchParams.has('password')) u.searchParams.set('password', 'redacted');
    return u.toString();
  } catch {
    return '[redacted]';
  }
}

function mark(origin: Map<string, string>, tree: Tree, source: string, prefix = ''): void {
  for (const [k, v] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) mark(origin, v as Tree, source, path);
    else origin.set(path, source);
  }
}

function deepMerge(a: Tree, b: Tree): Tree {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? deepMerge(prev as Tree, v as Tree)
        : v;
  }
  return out;
}

function getPath(tree: Tree, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Tree | undefined)?.[key], tree);
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = node[key] = next && typeof next === 'object' && !Array.isArray(next) ? { ...(next as Tree) } : {};
  }
  node[keys[keys.length - 1] as string] = value;
}
