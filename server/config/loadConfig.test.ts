import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig } from './loadConfig.js';

const dir = mkdtempSync(join(tmpdir(), 'rc-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Write `text` to a fresh YAML file and return its path. */
function yamlFile(text: string): string {
  const path = join(dir, `config-${++fileCount}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError thrown by `fn`; fails the test when it throws anything else or nothing. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but the configuration loaded');
}

function get(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], tree);
}

/** `{a: {b: value}}` for path "a.b", as JSON (which is YAML). */
function nested(path: string, value: unknown): string {
  const tree = path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value);
  return JSON.stringify(tree);
}

// Seed 002's example, verbatim (docs/seeds: "Configuration Example"), trailing spaces included.
const SEED_002_YAML = `# config/remote-claude.yaml
server:
  host: 0.0.0.0
  port: 4000
  
auth:
  provider: oauth
  oauth:
    provider: google
    clientId: \${OAUTH_CLIENT_ID}
    clientSecret: \${OAUTH_CLIENT_SECRET}
    
claude:
  apiKey: \${CLAUDE_API_KEY}
  model: claude-3-opus-20240229
  
sessions:
  maxPerUser: 5
  idleTimeout: 30m
  maxDuration: 8h
  
storage:
  type: s3
  s3:
    bucket: remote-claude-sessions
    region: us-east-1
    
security:
  encryption: true
  audit: true
  allowedDomains:
    - company.com
`;

// Seed 000's "Instance Pool Configuration" and "User Configuration" blocks, verbatim.
const SEED_000_POOL = {
  ec2: {
    pooling: {
      enabled: true,
      minInstances: 1,
      maxInstances: 10,
      instanceType: 't3.large',
      idleTimeout: 900,
      taskTimeout: 3600,
      maxTasksPerInstance: 5,
      scaling: {
        enabled: true,
        targetUtilization: 0.7,
        scaleUpThreshold: 0.8,
        scaleDownThreshold: 0.3,
        cooldownPeriod: 300,
      },
    },
    security: {
      isolation: 'container',
      networkMode: 'bridge',
      enableUserNamespaces: true,
      resourceLimits: { cpu: '2', memory: '4G', disk: '10G' },
    },
  },
};
const SEED_000_USERS = {
  users: {
    quotas: {
      maxConcurrentTasks: 3,
      maxResourcesPerTask: { cpu: '1', memory: '2G', disk: '5G' },
      maxMonthlyHours: 100,
    },
    preferences: {
      defaultProvider: 'ec2-shared',
      autoTerminate: true,
      notifications: { taskComplete: true, resourceWarnings: true },
    },
  },
};

describe('loadConfig defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.server.port).toBe(8080);
    expect(c.dataDir).toBe('./data');
    expect(c.log.level).toBe('info');
    expect(c.runtime.driver).toBe('local');
    expect(c.server.bodyLimitBytes).toBe(1024 * 1024);
    expect(c.gateway.upstream).toBe('https://api.anthropic.com');
    expect(c.database.url).toBeUndefined();
    expect(c.admin).toEqual({});
    expect(c.claude.apiKey).toBeUndefined();
    // Lifecycle limits: a stop after every task is opt-in (see the key's description).
    expect(c.userDefaults.autoTerminate).toBe(false);
    expect(c.sessions).toMatchObject({ idleTimeout: 1800, maxDuration: 28800 });
    expect(c.pooling.taskTimeout).toBe(3600);
  });

  it('loadConfig() with no sources at all does not read the process environment', () => {
    expect(loadConfig()).toEqual(loadConfig({ env: {} }));
  });
});

describe('loadConfig precedence: defaults < file < env < flags', () => {
  // One row per setting: its default, and a distinct value from each source. `envValue` is what
  // the env string must parse to (numbers stay numbers, strings stay strings).
  const table: {
    path: string;
    def: unknown;
    file: unknown;
    env: [string, string];
    envValue: unknown;
    flag: unknown;
  }[] = [
    { path: 'server.port', def: 8080, file: 4000, env: ['RC_PORT', '5000'], envValue: 5000, flag: 6000 },
    {
      path: 'server.host',
      def: '127.0.0.1',
      file: '0.0.0.0',
      env: ['RC_HOST', '10.1.2.3'],
      envValue: '10.1.2.3',
      flag: 'localhost',
    },
    {
      path: 'dataDir',
      def: './data',
      file: '/srv/from-file',
      env: ['RC_DATA_DIR', '/srv/from-env'],
      envValue: '/srv/from-env',
      flag: '/srv/from-flag',
    },
    {
      path: 'database.url',
      def: undefined,
      file: 'postgres://file@db.test/rc',
      env: ['DATABASE_URL', 'postgresql://env:pw@db.test:5433/rc'],
      envValue: 'postgresql://env:pw@db.test:5433/rc',
      flag: 'postgres://flag@db.test/rc',
    },
    {
      path: 'admin.email',
      def: undefined,
      file: 'file@example.com',
      env: ['RC_ADMIN_EMAIL', 'env@example.com'],
      envValue: 'env@example.com',
      flag: 'flag@example.com',
    },
    {
      path: 'admin.password',
      def: undefined,
      file: 'file-password-123',
      env: ['RC_ADMIN_PASSWORD', 'env-password-123'],
      envValue: 'env-password-123',
      flag: 'flag-password-123',
    },
    {
      path: 'runtime.driver',
      def: 'local',
      file: 'docker',
      env: ['RC_RUNTIME', 'kubernetes'],
      envValue: 'kubernetes',
      flag: 'ecs',
    },
    {
      path: 'gateway.upstream',
      def: 'https://api.anthropic.com',
      file: 'https://file.example.com',
      env: ['RC_ANTHROPIC_UPSTREAM', 'http://127.0.0.1:9999'],
      envValue: 'http://127.0.0.1:9999',
      flag: 'https://flag.example.com',
    },
    {
      path: 'claude.apiKey',
      def: undefined,
      file: 'sk-file',
      env: ['ANTHROPIC_API_KEY', 'sk-env'],
      envValue: 'sk-env',
      flag: 'sk-flag',
    },
    {
      path: 'log.level',
      def: 'info',
      file: 'debug',
      env: ['RC_LOG_LEVEL', 'warn'],
      envValue: 'warn',
      flag: 'error',
    },
    {
      path: 'server.bodyLimitBytes',
      def: 1024 * 1024,
      file: 2048,
      env: ['RC_SERVER__BODY_LIMIT_BYTES', '4096'],
      envValue: 4096,
      flag: 8192,
    },
    {
      path: 'auth.throttle.maxFailuresPerIp',
      def: 20,
      file: 30,
      env: ['RC_AUTH__THROTTLE__MAX_FAILURES_PER_IP', '40'],
      envValue: 40,
      flag: 50,
    },
  ];

  it.each(table)('$path: default, then file, then $env.0, then a flag', (row) => {
    const file = yamlFile(nested(row.path, row.file));
    const env = { [row.env[0]]: row.env[1] };
    expect(get(loadConfig({ env: {} }), row.path)).toEqual(row.def);
    expect(get(loadConfig({ file, env: {} }), row.path)).toEqual(row.file);
    expect(get(loadConfig({ env: { ...env, RC_CONFIG: file } }), row.path)).toEqual(row.envValue);
    expect(get(loadConfig({ file, env }), row.path)).toEqual(row.envValue);
    expect(get(loadConfig({ env }), row.path)).toEqual(row.envValue);
    expect(get(loadConfig({ file, env, flags: { [row.path]: row.flag } }), row.path)).toEqual(row.flag);
  });

  it('RC_CONFIG names the file; the file option wins over it', () => {
    const a = yamlFile('server: {port: 1111}');
    const b = yamlFile('server: {port: 2222}');
    expect(loadConfig({ env: { RC_CONFIG: a } }).server.port).toBe(1111);
    expect(loadConfig({ file: b, env: { RC_CONFIG: a } }).server.port).toBe(2222);
  });

  it('a flag left undefined does not hide the env value', () => {
    const c = loadConfig({ env: { RC_PORT: '5000' }, flags: { 'server.port': undefined } });
    expect(c.server.port).toBe(5000);
  });

  it('the file and the env each set different keys of one section and both survive', () => {
    const file = yamlFile('server: {host: 0.0.0.0, trustProxy: true}');
    const c = loadConfig({ file, env: { RC_PORT: '4321' } });
    expect(c.server).toMatchObject({ host: '0.0.0.0', trustProxy: true, port: 4321 });
  });

  it('empty env values are ignored', () => {
    expect(loadConfig({ env: { RC_PORT: '', RC_HOST: '' } }).server).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
    });
  });

  it('RC_EGRESS_ALLOW adds to the default allowlist', () => {
    const defaults = loadConfig({ env: {} }).egress.allow;
    expect(defaults).toContain('api.anthropic.com');
    const c = loadConfig({ env: { RC_EGRESS_ALLOW: 'git.corp.example, npm.corp.example:8443,,' } });
    expect(c.egress.allow).toEqual([...defaults, 'git.corp.example', 'npm.corp.example:8443']);
  });

  it('RC_EGRESS_ALLOW adds to the file list, without duplicates', () => {
    const file = yamlFile('egress:\n  allow: [github.com, "*.internal.example"]\n');
    const c = loadConfig({ file, env: { RC_EGRESS_ALLOW: 'github.com,pypi.org' } });
    expect(c.egress.allow).toEqual(['github.com', '*.internal.example', 'pypi.org']);
  });

  it('RC_EGRESS_ALLOW does not hide a file allowlist that is not a list', () => {
    const file = yamlFile('egress:\n  allow: github.com\n');
    const err = configError(() => loadConfig({ file, env: { RC_EGRESS_ALLOW: 'pypi.org' } }));
    expect(err.issues).toEqual([
      { path: 'egress.allow', rule: expect.stringMatching(/^must be an? array$/), source: file },
    ]);
  });

  it('RC_EGRESS_ALLOW with a bad host fails naming it', () => {
    const err = configError(() => loadConfig({ env: { RC_EGRESS_ALLOW: 'good.example,bad host' } }));
    expect(err.message).toMatch(/egress\.allow\.\d+: must be a host name.*\(from RC_EGRESS_ALLOW\)/);
  });

  it('RC_* variables that are not settings (RC_CONFIG, RC_URL, RC_TOKEN) are not read as keys', () => {
    const c = loadConfig({
      env: { RC_URL: 'http://x', RC_TOKEN: 'rc_abc', RC_TEST_DATABASE_URL: 'postgres://x@y/z' },
    });
    expect(c.server.port).toBe(8080);
  });

  it('variables without the RC_ prefix are ignored', () => {
    expect(loadConfig({ env: { PORT: '1', HOME: '/root', SERVER__PORT: '2' } }).server.port).toBe(8080);
  });
});

describe('loadConfig env value types', () => {
  it('an all-digits RC_ADMIN_PASSWORD stays a string; RC_PORT "8080" becomes a number', () => {
    const c = loadConfig({ env: { RC_ADMIN_PASSWORD: '123456789012', RC_PORT: '8080' } });
    expect(c.admin.password).toBe('123456789012');
    expect(c.server.port).toBe(8080);
  });

  it('other string settings keep number-, boolean- and JSON-looking values as strings', () => {
    const c = loadConfig({
      env: { RC_HOST: '1234', RC_DATA_DIR: 'true', ANTHROPIC_API_KEY: '[1]', RC_CLAUDE__MODEL: '{x' },
    });
    expect(c.server.host).toBe('1234');
    expect(c.dataDir).toBe('true');
    expect(c.claude.apiKey).toBe('[1]');
    expect(c.claude.model).toBe('{x');
    const oidc = loadConfig({
      env: {
        RC_AUTH__OIDC__ISSUER: 'https://sso.example.com',
        RC_AUTH__OIDC__CLIENT_ID: '1234567890',
        RC_AUTH__OIDC__CLIENT_SECRET: '0987654321',
      },
    }).auth.oidc;
    expect(oidc).toMatchObject({ clientId: '1234567890', clientSecret: '0987654321' });
  });

  it('booleans, durations and arrays come through the generic form', () => {
    const c = loadConfig({
      env: {
        RC_SERVER__TRUST_PROXY: 'true',
        RC_SESSIONS__IDLE_TIMEOUT: '45m',
        RC_AUTH__SESSION_TTL: '3600',
        RC_SECURITY__ALLOWED_DOMAINS: '["a.example","b.example"]',
      },
    });
    expect(c.server.trustProxy).toBe(true);
    expect(c.sessions.idleTimeout).toBe(2700);
    expect(c.auth.sessionTtl).toBe(3600);
    expect(c.security.allowedDomains).toEqual(['a.example', 'b.example']);
  });
});

describe('loadConfig seed documents', () => {
  const seedEnv = {
    OAUTH_CLIENT_ID: 'client-123.apps.googleusercontent.com',
    OAUTH_CLIENT_SECRET: 'GOCSPX-secret',
    CLAUDE_API_KEY: 'sk-ant-seed',
  };

  it("seed 002's config/remote-claude.yaml loads as written", () => {
    const c = loadConfig({ file: yamlFile(SEED_002_YAML), env: seedEnv });
    expect(c.server).toMatchObject({ host: '0.0.0.0', port: 4000 });
    expect(c.auth.provider).toBe('oauth');
    expect(c.auth.oidc).toMatchObject({
      issuer: 'https://accounts.google.com',
      clientId: 'client-123.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-secret',
    });
    expect(c.claude).toEqual({ apiKey: 'sk-ant-seed', model: 'claude-3-opus-20240229' });
    expect(c.sessions).toEqual({ maxPerUser: 5, idleTimeout: 1800, maxDuration: 28800 });
    expect(c.storage).toEqual({ type: 's3', s3: { bucket: 'remote-claude-sessions', region: 'us-east-1' } });
    expect(c.security).toEqual({ encryption: true, audit: true, allowedDomains: ['company.com'] });
  });

  it('the env still overrides what the seed 002 file sets', () => {
    const c = loadConfig({ file: yamlFile(SEED_002_YAML), env: { ...seedEnv, RC_PORT: '4100' } });
    expect(c.server.port).toBe(4100);
  });

  it('a variable the file refers to but the environment lacks fails naming the key path and the variable', () => {
    const file = yamlFile(SEED_002_YAML);
    const err = configError(() => loadConfig({ file, env: { OAUTH_CLIENT_ID: 'id', CLAUDE_API_KEY: 'k' } }));
    expect(err.issues).toEqual([
      {
        path: 'auth.oauth.clientSecret',
        rule: `refers to \${OAUTH_CLIENT_SECRET}, which is not set`,
        source: file,
      },
    ]);
    expect(err.message).toContain('auth.oauth.clientSecret');
  });

  it('an OAuth provider without a known issuer asks for one', () => {
    const file = yamlFile('auth:\n  oauth: {provider: okta, clientId: x}\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.message).toMatch(/auth\.oauth\.issuer: is required for provider "okta" \(known: google/);
  });

  it('an OAuth block with an explicit issuer uses it', () => {
    const file = yamlFile('auth:\n  oauth: {issuer: "https://sso.example.com", clientId: x}\n');
    expect(loadConfig({ file, env: {} }).auth.oidc?.issuer).toBe('https://sso.example.com');
  });

  // The pool is not built yet: its switch is refused (below), the rest of the block loads.
  const POOL_OFF = {
    ec2: { ...SEED_000_POOL.ec2, pooling: { ...SEED_000_POOL.ec2.pooling, enabled: false } },
  };
  const expectSeed000 = (c: ReturnType<typeof loadConfig>) => {
    expect(c.pooling).toEqual(POOL_OFF.ec2.pooling);
    // The seed's keys as given, and ours at their defaults.
    expect(c.quotas).toEqual({
      ...SEED_000_USERS.users.quotas,
      whenExceeded: 'queue',
      fairShareHalfLife: 604_800,
    });
  };

  it("seed 000's blocks load nested under ec2 and users, as in the seed (JSON)", () => {
    const file = yamlFile(JSON.stringify({ ...POOL_OFF, ...SEED_000_USERS }, null, 2));
    const c = loadConfig({ file, env: {} });
    expectSeed000(c);
    expect(c.isolation).toEqual(SEED_000_POOL.ec2.security);
    expect(c.userDefaults).toEqual(SEED_000_USERS.users.preferences);
  });

  it("seed 000's blocks load at top level as pooling: and quotas: (YAML)", () => {
    const file = yamlFile(
      `pooling: ${JSON.stringify(POOL_OFF.ec2.pooling)}\nquotas: ${JSON.stringify(SEED_000_USERS.users.quotas)}\n`,
    );
    expectSeed000(loadConfig({ file, env: {} }));
  });

  it("seed 000's pool switched on is refused with a sentence, as long as the pool is not built", () => {
    const file = yamlFile(JSON.stringify(SEED_000_POOL));
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toEqual([
      {
        path: 'pooling.enabled',
        rule: expect.stringContaining('the instance pool and its autoscaler are not part of this build yet'),
        source: file,
      },
    ]);
  });

  it('an unknown key under ec2 is reported with its full path', () => {
    const file = yamlFile('ec2: {pooling: {enabled: false}, region: eu-west-1}\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toEqual([{ path: 'ec2.region', rule: 'is not a known setting', source: file }]);
  });
});

describe('loadConfig rejects bad values with the key path, the rule and the source', () => {
  it.each([
    ['RC_PORT', '99999', 'server.port: must be ≤ 65535 (from RC_PORT)'],
    ['RC_PORT', 'abc', 'server.port: must be a number (from RC_PORT)'],
    ['RC_PORT', '-1', 'server.port: must be ≥ 0 (from RC_PORT)'],
    ['RC_PORT', '80.5', 'server.port: must be an integer (from RC_PORT)'],
    [
      'RC_RUNTIME',
      'podman',
      'runtime.driver: must be one of "local", "docker", "kubernetes", "ecs" (from RC_RUNTIME)',
    ],
    [
      'RC_SESSIONS__IDLE_TIMEOUT',
      '10 minutes',
      'sessions.idleTimeout: must be a number of seconds or a duration',
    ],
    ['RC_ADMIN_EMAIL', 'not-an-email', 'admin.email: must be a valid email (from RC_ADMIN_EMAIL)'],
    ['RC_ADMIN_PASSWORD', 'short', 'admin.password: must be at least 12 characters (from RC_ADMIN_PASSWORD)'],
    ['DATABASE_URL', 'mysql://x@y/z', 'database.url: must be a postgres:// URL (from DATABASE_URL)'],
    ['RC_LOG_LEVEL', 'loud', 'log.level: must be one of "trace"'],
    ['RC_SERVER__PROT', '1', 'server.prot: is not a known setting (from RC_SERVER__PROT)'],
    ['RC_AUDIT__RETENTION_DAYS', '0', 'audit.retentionDays: must be ≥ 1 (from RC_AUDIT__RETENTION_DAYS)'],
    ['RC_AUDIT__RETENTION_DAYS', '1.5', 'audit.retentionDays: must be an integer'],
    ['RC_AUDIT__PRUNE_INTERVAL', '5', 'audit.pruneInterval: must be at least 60 seconds'],
    [
      'RC_SESSIONS__IDLE_TIMEOUT',
      '59',
      'sessions.idleTimeout: must be at least 60 seconds ("1m") (from RC_SESSIONS__IDLE_TIMEOUT)',
    ],
    ['RC_SESSIONS__MAX_DURATION', '30s', 'sessions.maxDuration: must be at least 60 seconds ("1m")'],
    ['RC_POOLING__TASK_TIMEOUT', '0', 'pooling.taskTimeout: must be at least 60 seconds ("1m")'],
    ['RC_USER_DEFAULTS__AUTO_TERMINATE', 'maybe', 'userDefaults.autoTerminate: must be'],
  ])('%s=%s', (name, value, expected) => {
    const err = configError(() => loadConfig({ env: { [name]: value } }));
    expect(err.message).toContain(expected);
    expect(err.message).toContain(`(from ${name})`);
  });

  it.each([
    ['', 'server.webDir: must not be empty (from flag server.webDir)'],
    [5, 'server.webDir: must be a string (from flag server.webDir)'],
  ])('server.webDir=%j', (value, expected) => {
    expect(configError(() => loadConfig({ env: {}, flags: { 'server.webDir': value } })).message).toContain(
      expected,
    );
  });

  it('a bad duration names the rule and the env variable', () => {
    const err = configError(() => loadConfig({ env: { RC_SESSIONS__IDLE_TIMEOUT: '10 minutes' } }));
    expect(err.issues).toEqual([
      {
        path: 'sessions.idleTimeout',
        rule: 'must be a number of seconds or a duration like "30m", "8h", "7d"',
        source: 'RC_SESSIONS__IDLE_TIMEOUT',
      },
    ]);
  });

  it('a duration of the wrong type in the file names both accepted forms', () => {
    const file = yamlFile('sessions: {maxDuration: true}\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ path: 'sessions.maxDuration', source: file });
    expect(err.issues[0]?.rule).toBe('must be a number or a string');
  });

  it('an unknown key in the file: "server.prot is not a known setting", from the file', () => {
    const file = yamlFile('server: {prot: 1}\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toEqual([{ path: 'server.prot', rule: 'is not a known setting', source: file }]);
    expect(err.message).toContain(`server.prot: is not a known setting (from ${file})`);
  });

  it('an unknown top-level section in the file', () => {
    const file = yamlFile('sever:\n  port: 1\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toEqual([{ path: 'sever', rule: 'is not a known setting', source: file }]);
  });

  it('a wrong type in the file', () => {
    const file = yamlFile('server:\n  port: "eighty"\n  trustProxy: "yes"\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toEqual([
      { path: 'server.port', rule: 'must be a number', source: file },
      { path: 'server.trustProxy', rule: 'must be a boolean', source: file },
    ]);
  });

  it('a section given as a scalar in the file', () => {
    const file = yamlFile('server: 8080\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    // sdk/zodMessages.ts words this "must be a object"; either article is fine here.
    expect(err.issues).toEqual([
      { path: 'server', rule: expect.stringMatching(/^must be an? object$/), source: file },
    ]);
  });

  it('a bad duration in the file', () => {
    const file = yamlFile('sessions:\n  idleTimeout: 10 minutes\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.message).toContain(
      `sessions.idleTimeout: must be a number of seconds or a duration like "30m", "8h", "7d" (from ${file})`,
    );
  });

  it('pooling minInstances above maxInstances', () => {
    const file = yamlFile('pooling:\n  minInstances: 5\n  maxInstances: 2\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toEqual([
      { path: 'pooling.minInstances', rule: 'minInstances must not exceed maxInstances', source: file },
    ]);
  });

  it('pooling minInstances above maxInstances, nested under ec2 as in seed 000', () => {
    const file = yamlFile('ec2:\n  pooling:\n    minInstances: 11\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.message).toContain('pooling.minInstances: minInstances must not exceed maxInstances');
  });

  it('a flag with a bad value names the flag as the user typed it', () => {
    const err = configError(() =>
      loadConfig({ env: {}, flags: { 'log.level': 'loud' }, flagNames: { 'log.level': '--log-level' } }),
    );
    expect(err.message).toContain('log.level: must be one of');
    expect(err.message).toContain('(from --log-level)');
  });

  it('a value overridden by a later source is blamed on that source', () => {
    const file = yamlFile('server: {port: 4000}\n');
    const err = configError(() => loadConfig({ file, env: { RC_PORT: '70000' } }));
    expect(err.issues).toEqual([{ path: 'server.port', rule: 'must be ≤ 65535', source: 'RC_PORT' }]);
  });

  it('every problem is reported at once', () => {
    const err = configError(() => loadConfig({ env: { RC_PORT: 'abc', RC_RUNTIME: 'podman' } }));
    expect(err.issues.map((i) => i.path).sort()).toEqual(['runtime.driver', 'server.port']);
  });

  it('a file that is not YAML', () => {
    const file = yamlFile('server:\n  port: [4000\n  host: "\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ path: '', source: file });
    expect(err.issues[0]?.rule).toMatch(/^not valid YAML/);
    expect(err.message).toContain('(root): not valid YAML');
  });

  it('a file that does not exist', () => {
    const file = join(dir, 'missing.yaml');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues[0]).toMatchObject({ path: '', source: file });
    expect(err.issues[0]?.rule).toMatch(/^cannot read config file: .*ENOENT/);
  });

  it('a file named by RC_CONFIG that does not exist', () => {
    const file = join(dir, 'also-missing.yaml');
    const err = configError(() => loadConfig({ env: { RC_CONFIG: file } }));
    expect(err.message).toContain(`(from ${file})`);
  });

  it('a YAML list at the root', () => {
    const file = yamlFile('- server\n- port\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toEqual([{ path: '', rule: 'must be a YAML mapping', source: file }]);
  });

  it('a YAML scalar at the root', () => {
    const file = yamlFile('just some words\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.issues).toEqual([{ path: '', rule: 'must be a YAML mapping', source: file }]);
  });

  it('an empty file, or one with only comments, is no settings at all', () => {
    expect(loadConfig({ file: yamlFile(''), env: {} })).toEqual(loadConfig({ env: {} }));
    expect(loadConfig({ file: yamlFile('# nothing here\n'), env: {} })).toEqual(loadConfig({ env: {} }));
  });
});

describe('redactConfig', () => {
  it('hides the admin password, the OIDC client secret, the API key and the database password', () => {
    const file = yamlFile(
      'auth:\n  oidc: {issuer: "https://sso.example.com", clientId: cid, clientSecret: oidc-secret-value}\n',
    );
    const config = loadConfig({
      file,
      env: {
        RC_ADMIN_EMAIL: 'admin@example.com',
        RC_ADMIN_PASSWORD: 'admin-password-value',
        ANTHROPIC_API_KEY: 'sk-ant-api-key-value',
        DATABASE_URL: 'postgres://rc:db-password-value@db.internal:5432/rc?sslmode=require',
      },
    });
    const redacted = redactConfig(config);
    const text = JSON.stringify(redacted);
    for (const secret of [
      'admin-password-value',
      'oidc-secret-value',
      'sk-ant-api-key-value',
      'db-password-value',
    ])
      expect(text).not.toContain(secret);
    expect(get(redacted, 'admin.password')).toBe('[redacted]');
    expect(get(redacted, 'auth.oidc.clientSecret')).toBe('[redacted]');
    expect(get(redacted, 'claude.apiKey')).toBe('[redacted]');
    expect(get(redacted, 'database.url')).toBe('postgres://rc:redacted@db.internal:5432/rc?sslmode=require');

    // Everything else is untouched, and the config itself is not modified.
    const expected = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
    (expected.admin as Record<string, unknown>).password = '[redacted]';
    (expected.claude as Record<string, unknown>).apiKey = '[redacted]';
    ((expected.auth as Record<string, unknown>).oidc as Record<string, unknown>).clientSecret = '[redacted]';
    (expected.database as Record<string, unknown>).url = get(redacted, 'database.url');
    expect(redacted).toEqual(expected);
    expect(config.admin.password).toBe('admin-password-value');
    expect(config.database.url).toContain('db-password-value');
  });

  it('does not invent secrets that are not set', () => {
    const config = loadConfig({ env: {} });
    expect(redactConfig(config)).toEqual(config);
  });

  it('hides a database password given as a query parameter', () => {
    const config = loadConfig({ env: { DATABASE_URL: 'postgres://rc@db.internal/rc?password=qp-secret' } });
    expect(JSON.stringify(redactConfig(config))).not.toContain('qp-secret');
  });

  it('leaves a database URL without a password as it is', () => {
    const config = loadConfig({ env: { DATABASE_URL: 'postgres://rc@db.internal/rc' } });
    expect(get(redactConfig(config), 'database.url')).toBe('postgres://rc@db.internal/rc');
  });
});
