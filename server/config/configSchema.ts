// The control plane's configuration: one schema, a description on every key. `loadConfig` merges
// defaults < YAML file < RC_* environment < command-line flags and parses the result here once.
// The file may also use the shapes of the seed documents (seed 002's config/remote-claude.yaml,
// seed 000's pooling/quotas blocks); `normaliseSeedShapes` maps those onto this schema first.
import { z } from 'zod';
import { PASSWORD_MIN_LENGTH } from '../../sdk/wire.js';
import { EcsRuntimeConfig } from './ecsConfigSchema.js';

/** Shortest sessions.idleTimeout, sessions.maxDuration and pooling.taskTimeout: a pass runs every few seconds, and less is a typo. */
const LIFECYCLE_MIN_S = 60;
const LIFECYCLE_MIN_ERROR = 'must be at least 60 seconds ("1m")';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A duration in seconds: a number of seconds, or a string such as "30m", "8h", "7d". */
export const Duration = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(/^\d+(\.\d+)?[smhd]$/, {
      error: 'must be a number of seconds or a duration like "30m", "8h", "7d"',
    })
    .transform((s) => Math.round(Number(s.slice(0, -1)) * (UNITS[s.slice(-1)] ?? 1))),
]);

/** A resource size as the seeds write it: "4G", "512M", "10Gi". Parsed by the scheduler later. */
const Size = z
  .string()
  .regex(/^\d+(\.\d+)?([KMGT]i?)?$/, { error: 'must be a size like "512M", "4G" or "10Gi"' });
const Cpu = z.union([
  z.number().positive(),
  z.string().regex(/^\d+(\.\d+)?m?$/, { error: 'must be a CPU count like "2", "0.5" or "500m"' }),
]);
const Resources = z.strictObject({
  cpu: Cpu.optional().describe('CPU cores.'),
  memory: Size.optional().describe('Memory, e.g. "4G".'),
  disk: Size.optional().describe('Disk, e.g. "10G".'),
});

const HostPort = z.string().regex(/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/i, {
  error: 'must be a host name, optionally "*." in front and ":port" after',
});

const NodeConfig = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { error: 'must be 1 to 63 letters, digits, "_", "." or "-"' })
    .describe('Node name, shown in GET /api/v1/nodes and kept in each workspace it holds.'),
  docker: z
    .union([
      z.strictObject({
        socketPath: z.string().startsWith('/').describe('Unix socket of a daemon on this machine.'),
      }),
      z.strictObject({
        host: z.string().min(1).describe('Daemon host name or address.'),
        port: z
          .int()
          .min(1)
          .max(65535)
          .optional()
          .describe('Daemon port (default 2376 with tls, else 2375).'),
        tls: z
          .strictObject({
            ca: z.string().min(1).describe('PEM file of the CA that signed the daemon certificate.'),
            cert: z.string().min(1).describe('PEM file of the client certificate.'),
            key: z.string().min(1).describe('PEM file of the client key. Secret.'),
          })
          .optional(),
      }),
      z.strictObject({
        ssh: z.string().min(1).describe('ssh://user@host[:port]; runs `docker system dial-stdio` there.'),
        identityFile: z.string().min(1).optional().describe('Private key file for the SSH login.'),
      }),
      z.strictObject({
        node: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
            error: 'must be 1 to 63 letters, digits, "_", "." or "-"',
          })
          .describe(
            'Name of the `rclaude node` daemon on that host (its --name): it dials this control plane, so no port is open on the host.',
          ),
      }),
    ])
    .describe("How to reach the node's Docker daemon."),
  capacity: z
    .strictObject({
      cpu: Cpu.optional().describe('CPU cores workspaces may reserve.'),
      memory: Size.optional().describe('Memory workspaces may reserve, e.g. "64G".'),
      maxWorkspaces: z
        .int()
        .min(1)
        .optional()
        .describe('Most workspaces on the node (default pooling.maxTasksPerInstance).'),
    })
    .prefault({}),
  cordoned: z
    .boolean()
    .default(false)
    .describe(
      'Drain the node: its workspaces stay and may restart there, but placement gives it no new one.',
    ),
});

/** A cgroup below the root, shared by every workspace on a host (both drivers default to one). */
const CgroupPath = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, {
    error: 'must be a relative cgroup path like "remote-claude"',
  })
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), {
    error: 'must not contain "." or ".." segments',
  })
  .default('remote-claude');

/** A Kubernetes object name (a DNS label). */
const KubeName = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
  error: 'must be a Kubernetes name: 1 to 63 of a-z, 0-9 and "-"',
});
/** A Kubernetes quantity of bytes, e.g. "10Gi" or "512Mi". */
const KubeQuantity = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/, {
  error: 'must be a Kubernetes quantity like "10Gi" or "512Mi"',
});

const Oidc = z.strictObject({
  issuer: z.url().describe('OIDC issuer URL; its /.well-known/openid-configuration is fetched at startup.'),
  clientId: z.string().min(1).describe('OAuth client id registered with the provider.'),
  clientSecret: z
    .string()
    .min(1)
    .optional()
    .describe('OAuth client secret (omit for public clients). Secret.'),
  scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']).describe('Scopes to request.'),
  label: z.string().min(1).max(60).default('Single sign-on').describe('Text of the sign-in button.'),
  allowInsecureHttp: z
    .boolean()
    .default(false)
    .describe('Allow an http:// issuer (only for a provider on loopback, e.g. in tests).'),
});

/** The rules between the pooling block's keys (shared with the simulator's config, server/pool/simInput.ts). */
export function checkPoolRules(
  p: {
    minInstances: number;
    maxInstances: number;
    scaling: { scaleDownThreshold: number; scaleUpThreshold: number };
  },
  ctx: z.RefinementCtx,
): void {
  if (p.minInstances > p.maxInstances)
    ctx.addIssue({
      code: 'custom',
      message: 'minInstances must not exceed maxInstances',
      path: ['minInstances'],
    });
  if (p.scaling.scaleDownThreshold >= p.scaling.scaleUpThreshold)
    ctx.addIssue({
      code: 'custom',
      message: 'scaleDownThreshold must be below scaleUpThreshold',
      path: ['scaling', 'scaleDownThreshold'],
    });
}

export const ConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('Address to listen on (RC_HOST).'),
      port: z
        .int()
        .min(0)
        .max(65535)
        .default(8080)
        .describe('TCP port to listen on; 0 picks a free one (RC_PORT).'),
      publicUrl: z
        .url()
        .optional()
        .describe(
          'URL users reach the platform at (for OIDC redirects and links). Default: http://host:port.',
        ),
      agentUrl: z
        .url()
        .refine((u) => ['ws:', 'wss:'].includes(new URL(u).protocol), {
          error: 'must be a ws:// or wss:// URL',
        })
        .optional()
        .describe(
          'URL agents of network-transport workspaces (Kubernetes, ECS) dial, passed to them as RC_AGENT_URL. Default: publicUrl with ws:// (wss:// for https) and /api/v1/agent.',
        ),
      replicaUrl: z
        .url()
        .optional()
        .describe(
          'URL the other control-plane replicas reach this one at (PostgreSQL mode, several replicas). Default: http://host:port, with the host name for 0.0.0.0 or ::.',
        ),
      clusterSecret: z
        .string()
        .min(32, { error: 'must be at least 32 characters (openssl rand -base64 32)' })
        .optional()
        .describe(
          'Secret the replicas sign their requests to each other with (HMAC-SHA256); every replica needs the same one. Unset: one generated once and kept in the database. Secret.',
        ),
      replicaHeartbeat: Duration.refine((n) => n >= 1, { error: 'must be at least 1 second' })
        .default(5)
        .describe(
          'How often this replica renews its row in the replica registry; three missed beats and the others count it as dead.',
        ),
      trustProxy: z
        .boolean()
        .default(false)
        .describe('Trust X-Forwarded-* headers (set when behind a reverse proxy that sets them).'),
      bodyLimitBytes: z
        .int()
        .min(1024)
        .max(1024 ** 3)
        .default(1024 * 1024)
        .describe('Largest request body accepted, in bytes; larger bodies get 413.'),
      headersTimeout: Duration.refine((n) => n >= 1, { error: 'must be at least 1 second' })
        .default(60)
        .describe(
          'Longest a client may take to send the request line and headers; later gets 408 and the connection closed.',
        ),
      requestTimeout: Duration.refine((n) => n >= 1, { error: 'must be at least 1 second' })
        .default(300)
        .describe(
          'Longest a client may take to send a whole request, body included (408 after). Raise it when large files (workspaces.fileSizeLimit) are uploaded over slow links.',
        ),
      idleTimeout: Duration.refine((n) => n >= 1, { error: 'must be at least 1 second' })
        .default(120)
        .describe(
          'Close a connection on which nothing has been sent or received for this long while a request is open (WebSocket and event streams are exempt).',
        ),
      webDir: z
        .string()
        .min(1)
        .optional()
        .describe('Directory of the built web UI to serve at /. Default: dist/web of this installation.'),
    })
    .prefault({})
    .refine((s) => s.headersTimeout <= s.requestTimeout, {
      error: 'headersTimeout must not be longer than requestTimeout',
      path: ['headersTimeout'],
    }),
  dataDir: z
    .string()
    .min(1)
    .default('./data')
    .describe('Directory for the SQLite file, workspaces and agent sockets (RC_DATA_DIR).'),
  database: z
    .strictObject({
      url: z
        .string()
        .regex(/^postgres(ql)?:\/\//, { error: 'must be a postgres:// URL' })
        .optional()
        .describe(
          'PostgreSQL connection URL (DATABASE_URL). Unset: SQLite at dataDir/remote-claude.db. Secret.',
        ),
      poolSize: z.int().min(1).max(200).default(10).describe('PostgreSQL connection pool size.'),
      schema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]*$/, { error: 'must be a lower-case SQL identifier' })
        .optional()
        .describe('PostgreSQL schema to use (created when missing). Default: the server default (public).'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z
        .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .default('info')
        .describe('Log level (RC_LOG_LEVEL). Each request is logged at debug.'),
      format: z
        .enum(['pretty', 'json'])
        .optional()
        .describe(
          'Log line format on stderr (RC_LOG_FORMAT): pretty (short coloured lines for a person) or json (one object per line for a collector). Default: pretty when stderr is a terminal, json otherwise.',
        ),
    })
    .prefault({}),
  admin: z
    .strictObject({
      email: z.email().optional().describe('First admin, created only when no user exists (RC_ADMIN_EMAIL).'),
      password: z
        .string()
        .min(PASSWORD_MIN_LENGTH, { error: `must be at least ${PASSWORD_MIN_LENGTH} characters` })
        .optional()
        .describe('First admin password (RC_ADMIN_PASSWORD). Secret.'),
    })
    .prefault({}),
  auth: z
    .strictObject({
      provider: z
        .enum(['password', 'oauth', 'oidc'])
        .default('password')
        .describe(
          'Primary sign-in method shown first; password sign-in stays available for existing passwords.',
        ),
      sessionTtl: Duration.default(7 * 86400).describe('How long a sign-in session lasts without use.'),
      cookieSecure: z
        .enum(['auto', 'always', 'never'])
        .default('auto')
        .describe('Secure flag on the session cookie; auto sets it when the request came over HTTPS.'),
      throttle: z
        .strictObject({
          maxFailuresPerAccount: z
            .int()
            .min(1)
            .default(5)
            .describe('Failed sign-ins per account before 429.'),
          maxFailuresPerIp: z.int().min(1).default(20).describe('Failed sign-ins per client IP before 429.'),
          window: Duration.default(900).describe('Window the failures are counted over.'),
        })
        .prefault({}),
      argon2: z
        .strictObject({
          memoryCost: z
            .int()
            .min(1024)
            .default(19456)
            .describe('argon2id memory in KiB (OWASP minimum: 19456).'),
          timeCost: z.int().min(1).default(2).describe('argon2id iterations.'),
          parallelism: z.int().min(1).default(1).describe('argon2id lanes.'),
        })
        .prefault({}),
      oidc: Oidc.optional().describe('OpenID Connect sign-in (authorization code + PKCE).'),
    })
    .prefault({}),
  security: z
    .strictObject({
      allowedDomains: z
        .array(
          z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, { error: 'must be a domain like "example.com"' }),
        )
        .default([])
        .describe('Email domains allowed to sign in through OIDC; empty allows any.'),
      encryption: z
        .boolean()
        .default(true)
        .describe('Encrypt stored secrets (always on; accepted for seed 002).'),
      audit: z.boolean().default(true).describe('Record the audit log (always on; accepted for seed 002).'),
    })
    .prefault({}),
  audit: z
    .strictObject({
      retentionDays: z
        .int()
        .min(1)
        .max(36_500)
        .default(400)
        .describe(
          'Delete audit log entries older than this many days. The server checks once at startup and then every pruneInterval.',
        ),
      pruneInterval: Duration.refine((s) => s >= 60, { error: 'must be at least 60 seconds' })
        .default(3600)
        .describe('How often the server deletes audit log entries past retentionDays.'),
    })
    .prefault({}),
  claude: z
    .strictObject({
      apiKey: z
        .string()
        .min(1)
        .optional()
        .describe('Organisation Anthropic API key (ANTHROPIC_API_KEY). Secret.'),
      model: z.string().min(1).optional().describe('Default model for new tasks.'),
      secretsKey: z
        .string()
        .regex(/^[A-Za-z0-9+/_-]{43}=?$/, { error: 'must be 32 bytes in base64 (openssl rand -base64 32)' })
        .optional()
        .describe(
          'Key that encrypts the Anthropic API keys users save (32 bytes, base64: `openssl rand -base64 32`). Unset: a key generated once and kept in the database. Secret.',
        ),
    })
    .prefault({}),
  gateway: z
    .strictObject({
      upstream: z
        .url()
        .default('https://api.anthropic.com')
        .describe('Model API the gateway relays to (RC_ANTHROPIC_UPSTREAM).'),
      // From the model catalog of the pinned @anthropic-ai/claude-code (2.1.330), USD per million tokens.
      prices: z
        .record(
          z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, { error: 'must be a lower-case model id prefix' }),
          z.strictObject({
            input: z.number().min(0),
            output: z.number().min(0),
            cacheWrite: z.number().min(0),
            cacheWrite1h: z.number().min(0).optional(),
            cacheRead: z.number().min(0),
          }),
        )
        .refine((t) => Object.keys(t).length > 0, { error: 'must price at least one model' })
        .default({
          'claude-opus-5-5': { input: 4, output: 20, cacheWrite: 5, cacheRead: 0.2 },
          'claude-opus-5': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
          'claude-opus-4-5': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
          'claude-opus-4-6': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
          'claude-opus-4-7': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
          'claude-opus-4-8': { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
          'claude-opus-4': { input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 },
          'claude-sonnet-5-5': { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.1 },
          'claude-sonnet-5': { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.2 },
          'claude-sonnet-4': { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
          'claude-3-7-sonnet': { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
          'claude-3-5-sonnet': { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
          'claude-haiku-5-5': { input: 0.1, output: 0.5, cacheWrite: 0.125, cacheRead: 0.01 },
          'claude-haiku-4': { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
          'claude-3-5-haiku': { input: 0.8, output: 4, cacheWrite: 1, cacheRead: 0.08 },
        })
        .describe(
          'USD per million tokens by model id prefix (the longest matching prefix wins): input, output, cacheWrite (5-minute), cacheWrite1h (default: twice input), cacheRead. Setting it replaces the whole table; a model no entry matches is charged the highest price of each kind in it.',
        ),
    })
    .prefault({}),
  budgets: z
    .strictObject({
      monthlyUsdPerUser: z
        .number()
        .min(0)
        .optional()
        .describe(
          'Model spend one user may run up per calendar month (UTC), in USD; the gateway refuses requests once it is spent. Unset: no limit.',
        ),
    })
    .prefault({}),
  egress: z
    .strictObject({
      allow: z
        .array(HostPort)
        .default([
          'api.anthropic.com',
          'github.com',
          'codeload.github.com',
          '*.githubusercontent.com',
          'registry.npmjs.org',
          'pypi.org',
          'files.pythonhosted.org',
        ])
        .describe('Hosts workspaces may reach through the egress proxy (RC_EGRESS_ALLOW adds to it).'),
    })
    .prefault({}),
  runtime: z
    .strictObject({
      driver: z
        .enum(['local', 'docker', 'kubernetes', 'ecs'])
        .default('local')
        .describe('Runtime driver that creates workspaces (RC_RUNTIME).'),
      local: z
        .strictObject({
          bwrapPath: z
            .string()
            .min(1)
            .default('bwrap')
            .describe('The bubblewrap binary (Debian package bubblewrap).'),
          uidBase: z
            .int()
            .min(1000)
            .max(2 ** 31 - 70_000)
            .default(200_000)
            .describe('Workspaces run as host uids above this one, one uid per workspace.'),
          cgroupRoot: z
            .string()
            .min(1)
            .default('/sys/fs/cgroup')
            .describe('Where the cgroup file system is mounted.'),
          cgroupParent: CgroupPath.describe(
            'Cgroup (under every controller) that holds one child per workspace.',
          ),
          reservedCpu: z
            .number()
            .min(0)
            .default(0.5)
            .describe(
              "CPU cores kept for the control plane: the parent cgroup caps all workspaces together at the host's CPUs minus this, and gives them a quarter of one process's CPU weight. 0: no cap. Refused at startup when not below the host's CPU count.",
            ),
        })
        .prefault({})
        .describe('The local driver: bubblewrap sandboxes on this host.'),
      docker: z
        .strictObject({
          image: z
            .string()
            .min(1)
            .default('remote-claude/workspace:latest')
            .describe(
              'Workspace image on every Docker node (deploy/images/workspace): the agent, node and claude, user 1000 owning /workspace and /home/user.',
            ),
          runtime: z
            .string()
            .regex(/^[A-Za-z0-9_.-]+$/, { error: 'must be an OCI runtime name like "runsc"' })
            .optional()
            .describe(
              "OCI runtime for workspace containers, e.g. runsc (gVisor); it must be registered in each node's daemon.json. Unset: the daemon's default (runc).",
            ),
          usernsMode: z
            .string()
            .regex(/^[a-z]+(:.+)?$/, { error: 'must be a user namespace mode like "host"' })
            .optional()
            .describe(
              'HostConfig.UsernsMode for workspace containers. userns-remap is a daemon setting ("userns-remap": "default" in daemon.json); "host" opts workspaces out of it.',
            ),
          installation: z
            .string()
            .regex(/^[a-z0-9][a-z0-9_.-]{0,39}$/, {
              error: 'must be 1 to 40 of a-z, 0-9, "_", "." or "-", starting with a letter or digit',
            })
            .default('default')
            .describe(
              "Names and labels this installation's containers and volumes (rc-<installation>-<workspace>), so several installations can share a daemon.",
            ),
          tmpfsSize: z
            .string()
            .regex(/^\d+[bkmg]?$/i, { error: 'must be a size in Docker\'s notation like "512m" or "1g"' })
            .default('512m')
            .describe('Size of the tmpfs at /tmp in every workspace container.'),
          init: z
            .boolean()
            .default(true)
            .describe("Run Docker's init (tini) as PID 1 in workspace containers, so zombies are reaped."),
          callTimeout: Duration.refine((n) => n >= 1, { error: 'must be at least 1 second' })
            .default(30)
            .describe(
              'Deadline of one Docker API call (a stop adds its grace); a daemon that does not answer by then is reported down.',
            ),
          cgroupParent: CgroupPath.describe(
            "Cgroup that holds every workspace container on a node of this machine (Docker's CgroupParent), with a quarter of one process's CPU weight. Used on daemons reached by socketPath that run on this machine with the cgroupfs driver. A node reached through `rclaude node` gets the parent its daemon prepared on its own host and reported (`rclaude node --cgroup-parent`, default remote-claude), when its Docker daemon uses the cgroupfs driver; otherwise Docker's default parent, and the node's report says why.",
          ),
          reservedCpu: z
            .number()
            .min(0)
            .default(0.5)
            .describe(
              "CPU cores of this machine kept for the control plane: the cgroupParent caps all workspace containers together at the host's CPUs minus this. 0: no cap. Applies to nodes on this machine only (the control plane writes the cgroup; an `rclaude node` daemon keeps its own host's reserve with `--reserved-cpu`, default 0.5); startup refuses it when not below the host's CPUs or when such a node's daemon uses the systemd cgroup driver.",
            ),
        })
        .prefault({})
        .describe('The docker driver: hardened containers on the Docker hosts listed in `nodes`.'),
      kubernetes: z
        .strictObject({
          kubeconfig: z
            .string()
            .min(1)
            .optional()
            .describe(
              "Path of a kubeconfig file to reach the cluster with. Unset: the control plane's own service account (it runs in the cluster; deploy/kubernetes/rbac.yaml).",
            ),
          context: z
            .string()
            .min(1)
            .optional()
            .describe("The kubeconfig's context to use (with kubeconfig). Unset: its current-context."),
          namespace: KubeName.default('remote-claude').describe(
            "Namespace of every workspace's pod, PVC, Secret and NetworkPolicy; it must exist, and the control plane's service account needs the Role of deploy/kubernetes/rbac.yaml in it.",
          ),
          installation: z
            .string()
            .regex(/^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/, {
              error: 'must be 1 to 20 of a-z, 0-9 and "-", not starting or ending with "-"',
            })
            .default('default')
            .describe(
              "Names and labels this installation's objects (rc-<installation>-<workspace>, label remote-claude.io/installation), so several installations can share a namespace.",
            ),
          image: z
            .string()
            .min(1)
            .default('remote-claude/workspace:latest')
            .describe(
              'Workspace image the pods run (deploy/images/workspace), pushed where the cluster pulls from.',
            ),
          imagePullPolicy: z
            .enum(['Always', 'IfNotPresent', 'Never'])
            .default('IfNotPresent')
            .describe("The workspace container's imagePullPolicy."),
          uid: z
            .int()
            .min(1)
            .max(2 ** 31 - 1)
            .default(1000)
            .describe(
              "The uid and gid workspace containers run as (runAsUser, runAsGroup, fsGroup); runAsNonRoot is always set. The image's workspace user is 1000.",
            ),
          storageClass: KubeName.optional().describe(
            "StorageClass of the workspace PVCs (/workspace and the home). Unset: the cluster's default class.",
          ),
          volumeSize: KubeQuantity.default('10Gi').describe('Storage each workspace PVC requests.'),
          tmpSize: KubeQuantity.default('512Mi').describe(
            'Size limit of the /tmp emptyDir in every workspace pod.',
          ),
          runtimeClassName: KubeName.optional().describe(
            "RuntimeClass of workspace pods, e.g. gvisor or kata (it must exist in the cluster). Unset: the cluster's default runtime.",
          ),
          controlPlane: z
            .array(
              z.union([
                z.strictObject({
                  cidr: z
                    .string()
                    .regex(/^[0-9a-f.:]+\/\d{1,3}$/i, { error: 'must be a CIDR like "10.0.0.5/32"' })
                    .describe('An address range the control plane is reached at.'),
                }),
                z
                  .strictObject({
                    podSelector: z
                      .record(z.string(), z.string())
                      .optional()
                      .describe('Labels of the control-plane pods.'),
                    namespaceSelector: z
                      .record(z.string(), z.string())
                      .optional()
                      .describe("Labels of the control plane's namespace; unset: the workspaces' own."),
                  })
                  .refine((p) => p.podSelector !== undefined || p.namespaceSelector !== undefined, {
                    error: 'must set podSelector, namespaceSelector or cidr',
                  }),
              ]),
            )
            .default([])
            .describe(
              "Where the workspaces' NetworkPolicy lets them connect (on the agent URL's port): [{cidr}] or [{podSelector, namespaceSelector}]. Empty: the agent URL's host, which must then be an IP address. DNS to kube-system's kube-dns is allowed too when the agent URL names a host.",
            ),
          watchTimeout: Duration.refine((n) => n >= 1, { error: 'must be at least 1 second' })
            .default(300)
            .describe(
              'The pod and Secret watches behind inspect/list ask the API server to end each watch after this long (they resume at once); one from which nothing arrives for this long plus 5 s is taken as silently broken, cut, and the objects listed again.',
            ),
          podStartTimeout: Duration.refine((n) => n >= 1, { error: 'must be at least 1 second' })
            .default(300)
            .describe(
              "How long a start waits for the workspace pod's container to run (scheduling and the image pull). A pod Kubernetes says can never start (ErrImagePull, Unschedulable, CrashLoopBackOff, …) fails at once with its reason.",
            ),
          callTimeout: Duration.refine((n) => n >= 1, { error: 'must be at least 1 second' })
            .default(30)
            .describe(
              'Deadline of one Kubernetes API call, and of waiting for a deleted pod to be gone (plus its grace).',
            ),
        })
        .prefault({})
        .refine((k) => k.context === undefined || k.kubeconfig !== undefined, {
          error: 'context needs kubeconfig (the in-cluster service account has no contexts)',
          path: ['context'],
        })
        .describe(
          'The kubernetes driver: a pod, PVC, Secret and NetworkPolicy per workspace in one namespace.',
        ),
      ecs: EcsRuntimeConfig,
    })
    .prefault({}),
  nodes: z
    .array(NodeConfig)
    .default([])
    .refine((nodes) => new Set(nodes.map((n) => n.name)).size === nodes.length, {
      error: 'node names must be unique',
    })
    .describe(
      'Docker hosts the docker driver places workspaces on: [{name, docker: {socketPath} | {host, port, tls: {ca, cert, key}} | {ssh, identityFile} | {node}, capacity: {cpu, memory, maxWorkspaces}, cordoned}]. TLS values are PEM file paths. Capacity values are what running workspaces may reserve in all (their limits); an unset cpu or memory is the machine\'s own (docker info), an unset maxWorkspaces is pooling.maxTasksPerInstance. No node is ever placed beyond its capacity. Empty: one node "local" on /var/run/docker.sock. See placement.strategy.',
    ),
  placement: z
    .strictObject({
      strategy: z
        .enum(['pack', 'spread'])
        .default('pack')
        .describe(
          'Which node with room a new workspace goes to: pack (the fullest after placing it, so whole nodes stay free) or spread (the emptiest). Cordoned nodes and nodes that do not answer get none.',
        ),
    })
    .prefault({}),
  workspaces: z
    .strictObject({
      pids: z.int().min(16).max(65_536).default(1024).describe('Most processes in one workspace at once.'),
      startTimeout: Duration.default(60).describe('Fail a start whose agent has not connected by then.'),
      cloneTimeout: Duration.default(1800).describe('Fail a first start whose clone takes longer.'),
      stopGrace: Duration.default(10).describe('Time between SIGTERM and SIGKILL when a workspace stops.'),
      heartbeatIntervalMs: z
        .int()
        .min(50)
        .max(600_000)
        .default(10_000)
        .describe('Agent heartbeat period; three missed ones mark the workspace unhealthy.'),
      reconcileInterval: Duration.default(30).describe(
        'How often the server compares workspaces with their boxes.',
      ),
      fileSizeLimit: Size.default('50M').describe('Largest file the files API reads or writes.'),
      terminalIdleTimeout: Duration.default(3600).describe(
        'Close a terminal nobody has watched or typed into for this long.',
      ),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      maxPerUser: z
        .int()
        .min(1)
        .max(10_000)
        .default(5)
        .describe(
          'Workspaces one user may have starting or running at once; a task needing another waits in the queue. Admins override it per user or team.',
        ),
      idleTimeout: Duration.refine((n) => n >= LIFECYCLE_MIN_S, { error: LIFECYCLE_MIN_ERROR })
        .default(1800)
        .describe(
          'Stop a running workspace (its files are kept) after this long with no task queued or running, no terminal attached and no app traffic; its owner is warned on the workspace page min(5 min, a fifth of this) before. At least 60 s.',
        ),
      maxDuration: Duration.refine((n) => n >= LIFECYCLE_MIN_S, { error: LIFECYCLE_MIN_ERROR })
        .default(8 * 3600)
        .describe(
          'Stop a workspace (its files are kept) once it has run this long since it started, busy or not; its unfinished tasks are cancelled with the reason. At least 60 s.',
        ),
    })
    .prefault({}),
  storage: z
    .strictObject({
      type: z.enum(['local', 's3']).default('local').describe('Where workspace backups and artifacts go.'),
      s3: z
        .strictObject({
          bucket: z.string().min(1).describe('S3 bucket.'),
          region: z.string().min(1).describe('AWS region.'),
        })
        .optional()
        .describe('S3 settings when type is s3.'),
    })
    .prefault({}),
  pooling: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .refine((on) => !on, {
          error:
            'the instance pool and its autoscaler are not part of this build yet; leave it false (workspaces are placed on the runtime’s nodes: runtime.docker.nodes, or the local node)',
        })
        .describe(
          'Keep an autoscaled pool of nodes (seed 000). Not part of this build yet: startup refuses true, and the other pool settings (minInstances, maxInstances, instanceType, idleTimeout, scaling) take effect only with it.',
        ),
      minInstances: z.int().min(0).default(0).describe('Nodes kept even when idle.'),
      maxInstances: z.int().min(1).default(10).describe('Upper bound on nodes.'),
      instanceType: z
        .string()
        .min(1)
        .optional()
        .describe('Cloud instance type of new nodes (e.g. t3.large).'),
      idleTimeout: Duration.default(900).describe('Remove a drained node idle this long.'),
      taskTimeout: Duration.refine((n) => n >= LIFECYCLE_MIN_S, { error: LIFECYCLE_MIN_ERROR })
        .default(3600)
        .describe(
          'Cancel a task whose turn has run this long (from the start of the turn, waiting for an approval included), with the reason. Applies whether pooling is enabled or not. At least 60 s.',
        ),
      maxTasksPerInstance: z
        .int()
        .min(1)
        .default(5)
        .describe(
          "Workspaces running on one node at most, for nodes whose capacity sets no maxWorkspaces (the local driver's node included).",
        ),
      scaling: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Let the autoscaler change the pool size.'),
          targetUtilization: z
            .number()
            .gt(0)
            .lte(1)
            .default(0.7)
            .describe('Utilisation the autoscaler aims for.'),
          scaleUpThreshold: z
            .number()
            .gt(0)
            .lte(1)
            .default(0.8)
            .describe('Add nodes above this utilisation.'),
          scaleDownThreshold: z
            .number()
            .gte(0)
            .lt(1)
            .default(0.3)
            .describe('Remove nodes below this utilisation.'),
          cooldownPeriod: Duration.default(300).describe('Wait this long between scaling actions.'),
        })
        .prefault({}),
    })
    .superRefine(checkPoolRules)
    .prefault({}),
  isolation: z
    .strictObject({
      isolation: z
        .enum(['container', 'sandbox'])
        .optional()
        .describe('Accepted from seed 000 (drivers decide).'),
      networkMode: z
        .string()
        .optional()
        .describe('Accepted from seed 000; workspaces always get no network.'),
      enableUserNamespaces: z.boolean().default(true).describe('Run workspaces in user namespaces.'),
      resourceLimits: Resources.default({ cpu: '1', memory: '4G', disk: '10G' }).describe(
        'Default workspace limits.',
      ),
    })
    .prefault({}),
  quotas: z
    .strictObject({
      maxConcurrentTasks: z
        .int()
        .min(1)
        .max(10_000)
        .default(3)
        .describe(
          'Tasks one user may run at once: a turn running or starting, or waiting for an approval (not one idle between follow-ups). Admins override it per user or team.',
        ),
      maxResourcesPerTask: Resources.default({ cpu: '1', memory: '2G', disk: '5G' }).describe(
        'Largest workspace a user may ask for.',
      ),
      maxMonthlyHours: z
        .number()
        .positive()
        .max(744 * 1000)
        .default(100)
        .describe(
          'Workspace hours (starting or running, metered) one user may use per calendar month (UTC). Admins override it per user or team.',
        ),
      whenExceeded: z
        .enum(['queue', 'refuse'])
        .default('queue')
        .describe(
          'A task over a quota waits in the queue with the reason (queue), or is refused with 429 (refuse).',
        ),
      fairShareHalfLife: Duration.refine((n) => n >= 60, { error: 'must be at least 60 seconds' })
        .default(7 * 86_400)
        .describe(
          "Half-life of the workspace-CPU-seconds that rank users' queued tasks (fair share): usage this long ago counts half.",
        ),
    })
    .prefault({}),
  userDefaults: z
    .strictObject({
      defaultProvider: z.string().optional().describe('Accepted from seed 000.'),
      autoTerminate: z
        .boolean()
        .default(false)
        .describe(
          "Stop a workspace (its files are kept) as soon as its last task ends (succeeded, failed or cancelled) with no other task queued or running and no terminal attached. Off by default: users look at results, open a terminal and send follow-ups in the same workspace, which a stop after every task would interrupt; operators who pay per running instance (seed 000's one instance per task) turn it on. sessions.idleTimeout stops idle workspaces either way.",
        ),
      notifications: z
        .strictObject({
          taskComplete: z.boolean().default(true).describe('Notify when a task completes.'),
          resourceWarnings: z.boolean().default(true).describe('Notify on resource warnings.'),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Config paths whose values are secrets: redacted by `redactConfig`, never logged. */
export const secretPaths = [
  'admin.password',
  'auth.oidc.clientSecret',
  'claude.apiKey',
  'claude.secretsKey',
  'server.clusterSecret',
  'runtime.ecs.credentials.secretAccessKey',
  'runtime.ecs.credentials.sessionToken',
] as const;
