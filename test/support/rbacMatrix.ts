// The authorization matrix: every API route × every role × (own resource, someone else's) →
// the status the server must answer. It is data so each feature adds its routes here; the test
// in test/rbac.test.ts fails when a route in the OpenAPI document has no row.
//
// "own" means the resource belongs to (or includes) the caller; "other" means it belongs to
// someone else. Routes without an owner use the same expectation for both. Resources the caller
// may not see answer 404, so ids cannot be probed; visible resources the caller may not change
// answer 403.
import type { OrgRole } from '../../sdk/wire.js';
import type { UserRow } from '../../server/store/userStore.js';
import type { TestApp } from './testApp.js';

export type Caller = OrgRole | 'anonymous';
export type Whose = 'own' | 'other';
export type Statuses = Record<Caller, number>;

export interface Prepared {
  url: string;
  payload?: unknown;
}

export interface MatrixRow {
  /** "METHOD /openapi/path"; must match the OpenAPI document. */
  route: string;
  /** What this row exercises, when a route has several rows. */
  variant?: string;
  /** Build fresh resources for one request, made by `actor` (undefined for anonymous). */
  prepare(t: TestApp, actor: UserRow | undefined, whose: Whose, other: UserRow): Promise<Prepared>;
  expect: { own: Statuses; other: Statuses } | Statuses;
}

const all = (status: number, anonymous = 401): Statuses => ({
  owner: status,
  admin: status,
  member: status,
  viewer: status,
  anonymous,
});
const adminsOnly = (ok: number, denied: number): Statuses => ({
  owner: ok,
  admin: ok,
  member: denied,
  viewer: denied,
  anonymous: 401,
});

/** The caller's own id, or someone else's. */
const userId = (actor: UserRow | undefined, whose: Whose, other: UserRow) =>
  whose === 'own' && actor ? actor.id : other.id;

/** A fresh team: with the caller in it (as `role`) for "own", without for "other". */
async function team(
  t: TestApp,
  actor: UserRow | undefined,
  whose: Whose,
  role: 'member' | 'maintainer' = 'member',
) {
  const row = await t.services.teams.create({ name: `team ${Math.random().toString(36).slice(2)}` });
  if (whose === 'own' && actor) await t.services.teams.putMember(row.id, actor.id, role);
  return row;
}

async function token(t: TestApp, owner: UserRow) {
  return t.services.tokens.create({
    userId: owner.id,
    name: 'matrix',
    tokenHash: Math.random().toString(36),
    prefix: 'rc_x',
    expiresAt: null,
  });
}

/** A fresh pending workspace (no box) owned by the caller ("own") or by `other`. */
async function workspace(t: TestApp, actor: UserRow | undefined, whose: Whose, other: UserRow) {
  const ownerId = whose === 'own' && actor ? actor.id : other.id;
  const n = Math.random().toString(36).slice(2);
  const { row } = await t.services.workspaces.createOrGet({
    id: `ws-${n}`,
    ownerId,
    repository: `https://git.example.test/acme/${n}`,
    name: n,
    driver: 'local',
    cpu: 1,
    memoryBytes: 1 << 30,
    pids: 256,
  });
  return row;
}
const wsUrl = async (t: TestApp, a: UserRow | undefined, w: Whose, o: UserRow, rest = '') =>
  `/api/v1/workspaces/${(await workspace(t, a, w, o)).id}${rest}`;
/** Members and up on their own workspace; viewers are read-only. */
const membersUp = (ok: number): Statuses => ({
  owner: ok,
  admin: ok,
  member: ok,
  viewer: 403,
  anonymous: 401,
});
/** Only the workspace's owner (a shell or a file write acts as them); others' are hidden or refused. */
const ownerOnly = {
  own: membersUp(409),
  other: { owner: 403, admin: 403, member: 404, viewer: 404, anonymous: 401 },
};

/** A fresh queued task (its workspace has no box) owned by the caller or by `other`. */
async function task(
  t: TestApp,
  actor: UserRow | undefined,
  whose: Whose,
  other: UserRow,
  withApproval = false,
) {
  const ws = await workspace(t, actor, whose, other);
  const row = await t.services.tasks.create({
    ownerId: ws.owner_id,
    workspaceId: ws.id,
    repository: ws.repository,
    prompt: 'hello',
    permissionMode: 'default',
  });
  if (withApproval) {
    await t.services.tasks.addApproval({
      task_id: row.id,
      id: 'req-1',
      seq: 1,
      tool_name: 'Write',
      input: '{}',
      status: 'pending',
    });
  }
  return row;
}
const taskUrl = async (t: TestApp, a: UserRow | undefined, w: Whose, o: UserRow, rest = '') =>
  `/api/v1/tasks/${(await task(t, a, w, o, rest.includes('approvals/'))).id}${rest}`;

export const rbacMatrix: MatrixRow[] = [
  { route: 'GET /healthz', prepare: async () => ({ url: '/healthz' }), expect: all(200, 200) },
  { route: 'GET /readyz', prepare: async () => ({ url: '/readyz' }), expect: all(200, 200) },
  // Metrics carry no user data; operators keep the port private or filter /metrics at their proxy.
  { route: 'GET /metrics', prepare: async () => ({ url: '/metrics' }), expect: all(200, 200) },
  // The web UI's pages (GET /, /tasks/:id, …) are not in the OpenAPI document: they serve the same
  // index.html to anyone and hold no data (server/http/routes/webRoutes.test.ts).
  {
    route: 'GET /api/v1/auth/providers',
    prepare: async () => ({ url: '/api/v1/auth/providers' }),
    expect: all(200, 200),
  },
  // The matrix app has no OIDC provider configured: both routes answer 404 to everyone; the
  // signed-in flow is covered in server/http/routes/oidcRoutes.test.ts.
  {
    route: 'GET /api/v1/auth/oidc/login',
    prepare: async () => ({ url: '/api/v1/auth/oidc/login' }),
    expect: all(404, 404),
  },
  {
    route: 'GET /api/v1/auth/oidc/callback',
    prepare: async () => ({ url: '/api/v1/auth/oidc/callback?code=x&state=y' }),
    expect: all(404, 404),
  },
  { route: 'GET /api/v1/me', prepare: async () => ({ url: '/api/v1/me' }), expect: all(200) },
  {
    route: 'POST /api/v1/auth/logout',
    prepare: async () => ({ url: '/api/v1/auth/logout' }),
    expect: all(204),
  },
  {
    route: 'POST /api/v1/auth/login',
    // Login needs no credentials; a wrong password is 401 for everyone.
    prepare: async () => ({
      url: '/api/v1/auth/login',
      payload: { email: 'nobody@example.test', password: 'not the password' },
    }),
    expect: all(401, 401),
  },

  {
    route: 'GET /api/v1/users',
    prepare: async () => ({ url: '/api/v1/users' }),
    expect: adminsOnly(200, 403),
  },
  {
    route: 'POST /api/v1/users',
    variant: 'member role',
    prepare: async () => ({
      url: '/api/v1/users',
      payload: { email: `new-${Math.random()}@example.test`, role: 'member' },
    }),
    expect: adminsOnly(201, 403),
  },
  {
    route: 'POST /api/v1/users',
    variant: 'owner role: only owners grant it',
    prepare: async () => ({
      url: '/api/v1/users',
      payload: { email: `own-${Math.random()}@example.test`, role: 'owner' },
    }),
    expect: { owner: 201, admin: 403, member: 403, viewer: 403, anonymous: 401 },
  },
  {
    route: 'GET /api/v1/users/{id}',
    prepare: async (_t, a, w, o) => ({ url: `/api/v1/users/${userId(a, w, o)}` }),
    expect: { own: all(200), other: adminsOnly(200, 404) },
  },
  {
    route: 'PATCH /api/v1/users/{id}',
    variant: 'name',
    prepare: async (_t, a, w, o) => ({
      url: `/api/v1/users/${userId(a, w, o)}`,
      payload: { name: 'Renamed' },
    }),
    expect: { own: all(200), other: adminsOnly(200, 404) },
  },
  {
    route: 'PATCH /api/v1/users/{id}',
    variant: 'role: nobody changes their own',
    prepare: async (t, a, w) => {
      const target = w === 'own' && a ? a : await t.user('member');
      return { url: `/api/v1/users/${target.id}`, payload: { role: 'viewer' } };
    },
    expect: {
      own: { owner: 403, admin: 403, member: 403, viewer: 200, anonymous: 401 },
      other: adminsOnly(200, 404),
    },
  },
  {
    route: 'PATCH /api/v1/users/{id}',
    variant: 'disable: nobody disables themselves',
    prepare: async (t, a, w) => {
      const target = w === 'own' && a ? a : await t.user('member');
      return { url: `/api/v1/users/${target.id}`, payload: { disabled: true } };
    },
    expect: {
      own: { owner: 403, admin: 403, member: 403, viewer: 403, anonymous: 401 },
      other: adminsOnly(200, 404),
    },
  },
  {
    route: 'PATCH /api/v1/users/{id}',
    variant: 'an owner: only owners act on owners',
    prepare: async (t) => ({
      url: `/api/v1/users/${(await t.user('owner')).id}`,
      payload: { role: 'member' },
    }),
    expect: { owner: 200, admin: 403, member: 404, viewer: 404, anonymous: 401 },
  },

  { route: 'GET /api/v1/teams', prepare: async () => ({ url: '/api/v1/teams' }), expect: all(200) },
  {
    route: 'POST /api/v1/teams',
    prepare: async () => ({
      url: '/api/v1/teams',
      payload: { name: `t-${Math.random().toString(36).slice(2)}` },
    }),
    expect: adminsOnly(201, 403),
  },
  {
    route: 'GET /api/v1/teams/{id}',
    prepare: async (t, a, w) => ({ url: `/api/v1/teams/${(await team(t, a, w)).id}` }),
    expect: { own: all(200), other: adminsOnly(200, 404) },
  },
  {
    route: 'PATCH /api/v1/teams/{id}',
    prepare: async (t, a, w) => ({
      url: `/api/v1/teams/${(await team(t, a, w)).id}`,
      payload: { description: 'x' },
    }),
    expect: { own: adminsOnly(200, 403), other: adminsOnly(200, 404) },
  },
  {
    route: 'DELETE /api/v1/teams/{id}',
    prepare: async (t, a, w) => ({ url: `/api/v1/teams/${(await team(t, a, w)).id}` }),
    expect: { own: adminsOnly(204, 403), other: adminsOnly(204, 404) },
  },
  {
    route: 'PUT /api/v1/teams/{id}/members/{userId}',
    variant: 'caller is a maintainer of the own team',
    prepare: async (t, a, w, o) => ({
      url: `/api/v1/teams/${(await team(t, a, w, 'maintainer')).id}/members/${o.id}`,
      payload: { role: 'member' },
    }),
    expect: {
      own: { owner: 200, admin: 200, member: 200, viewer: 403, anonymous: 401 },
      other: adminsOnly(200, 404),
    },
  },
  {
    route: 'DELETE /api/v1/teams/{id}/members/{userId}',
    variant: 'caller is a plain member of the own team',
    prepare: async (t, a, w, o) => {
      const row = await team(t, a, w, 'member');
      await t.services.teams.putMember(row.id, o.id, 'member');
      return { url: `/api/v1/teams/${row.id}/members/${o.id}` };
    },
    expect: { own: adminsOnly(204, 403), other: adminsOnly(204, 404) },
  },

  {
    route: 'POST /api/v1/tokens',
    prepare: async () => ({ url: '/api/v1/tokens', payload: { name: 'ci' } }),
    expect: all(201),
  },
  {
    route: 'GET /api/v1/tokens',
    prepare: async (_t, a, w, o) => ({
      url: w === 'own' ? '/api/v1/tokens' : `/api/v1/tokens?userId=${userId(a, w, o)}`,
    }),
    expect: { own: all(200), other: adminsOnly(200, 403) },
  },
  {
    route: 'DELETE /api/v1/tokens/{id}',
    prepare: async (t, a, w, o) => ({
      url: `/api/v1/tokens/${(await token(t, w === 'own' && a ? a : o)).id}`,
    }),
    expect: { own: all(204), other: adminsOnly(204, 404) },
  },

  {
    route: 'GET /api/v1/audit',
    prepare: async () => ({ url: '/api/v1/audit' }),
    expect: adminsOnly(200, 403),
  },
  {
    // Agents only, over a WebSocket with their agent token (test/workspaces/agentNetwork.test.ts
    // shows a user's API token refused there); a plain request is told to upgrade.
    route: 'GET /api/v1/agent',
    prepare: async () => ({ url: '/api/v1/agent' }),
    expect: all(426, 426),
  },
  {
    route: 'GET /api/v1/nodes',
    prepare: async () => ({ url: '/api/v1/nodes' }),
    expect: adminsOnly(200, 403),
  },
  {
    route: 'POST /api/v1/nodes/join-tokens',
    prepare: async () => ({ url: '/api/v1/nodes/join-tokens', payload: { node: 'matrix-node' } }),
    expect: adminsOnly(201, 403),
  },
  {
    route: 'GET /api/v1/nodes/join-tokens',
    prepare: async () => ({ url: '/api/v1/nodes/join-tokens' }),
    expect: adminsOnly(200, 403),
  },
  {
    route: 'DELETE /api/v1/nodes/join-tokens/{id}',
    prepare: async (t) => {
      const row = await t.services.nodeJoinTokens.create({
        node: 'matrix-node',
        tokenHash: Math.random().toString(36),
        prefix: 'rcn_x',
        createdBy: null,
        expiresAt: null,
      });
      return { url: `/api/v1/nodes/join-tokens/${row.id}` };
    },
    expect: adminsOnly(204, 403),
  },
  {
    // Node daemons only, over a WebSocket with their join token (test/workspaces/remoteDockerNode.test.ts);
    // a plain request is told to upgrade.
    route: 'GET /api/v1/nodes/connect',
    prepare: async () => ({ url: '/api/v1/nodes/connect' }),
    expect: all(426, 426),
  },
  {
    route: 'GET /api/v1/replicas',
    prepare: async () => ({ url: '/api/v1/replicas' }),
    expect: adminsOnly(200, 403),
  },

  {
    route: 'POST /api/v1/workspaces',
    prepare: async () => ({
      url: '/api/v1/workspaces',
      payload: {
        repository: `https://git.example.test/acme/${Math.random().toString(36).slice(2)}`,
        start: false,
      },
    }),
    expect: membersUp(201),
  },
  { route: 'GET /api/v1/workspaces', prepare: async () => ({ url: '/api/v1/workspaces' }), expect: all(200) },
  {
    route: 'GET /api/v1/workspaces/{id}',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o) }),
    expect: { own: all(200), other: adminsOnly(200, 404) },
  },
  {
    route: 'POST /api/v1/workspaces/{id}/start',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/start') }),
    expect: { own: membersUp(202), other: adminsOnly(202, 404) },
  },
  {
    route: 'POST /api/v1/workspaces/{id}/stop',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/stop') }),
    expect: { own: membersUp(200), other: adminsOnly(200, 404) },
  },
  {
    route: 'DELETE /api/v1/workspaces/{id}',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o) }),
    expect: { own: membersUp(204), other: adminsOnly(204, 404) },
  },
  // The workspaces below have no box, so an allowed request gets 409 workspace_not_running.
  {
    route: 'GET /api/v1/workspaces/{id}/files/{*}',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/files/README.md') }),
    expect: { own: all(409), other: adminsOnly(409, 404) },
  },
  {
    route: 'GET /api/v1/workspaces/{id}/files',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/files') }),
    expect: { own: all(409), other: adminsOnly(409, 404) },
  },
  {
    route: 'POST /api/v1/workspaces/{id}/files',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/files'), payload: { op: 'mkdir' } }),
    expect: ownerOnly,
  },
  {
    route: 'PUT /api/v1/workspaces/{id}/files/{*}',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/files/a.txt'), payload: 'x' }),
    expect: ownerOnly,
  },
  {
    route: 'POST /api/v1/workspaces/{id}/files/{*}',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/files/dir'), payload: { op: 'mkdir' } }),
    expect: ownerOnly,
  },
  {
    route: 'DELETE /api/v1/workspaces/{id}/files/{*}',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/files/a.txt') }),
    expect: ownerOnly,
  },
  {
    route: 'GET /api/v1/workspaces/{id}/terminals',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/terminals') }),
    expect: ownerOnly,
  },
  {
    route: 'GET /api/v1/workspaces/{id}/watch',
    prepare: async (t, a, w, o) => ({ url: await wsUrl(t, a, w, o, '/watch') }),
    expect: ownerOnly,
  },

  {
    route: 'POST /api/v1/tasks',
    prepare: async () => ({
      url: '/api/v1/tasks',
      payload: {
        repository: `https://git.example.test/acme/${Math.random().toString(36).slice(2)}`,
        prompt: 'hi',
      },
    }),
    expect: membersUp(201),
  },
  { route: 'GET /api/v1/tasks', prepare: async () => ({ url: '/api/v1/tasks' }), expect: all(200) },
  {
    route: 'GET /api/v1/tasks/{id}',
    prepare: async (t, a, w, o) => ({ url: await taskUrl(t, a, w, o) }),
    expect: { own: all(200), other: adminsOnly(200, 404) },
  },
  {
    route: 'GET /api/v1/tasks/{id}/events',
    prepare: async (t, a, w, o) => ({ url: await taskUrl(t, a, w, o, '/events') }),
    expect: { own: all(200), other: adminsOnly(200, 404) },
  },
  {
    route: 'GET /api/v1/tasks/{id}/approvals',
    prepare: async (t, a, w, o) => ({ url: await taskUrl(t, a, w, o, '/approvals') }),
    expect: { own: all(200), other: adminsOnly(200, 404) },
  },
  // The tasks below are queued (their workspace never starts): an allowed follow-up or interrupt
  // gets 409; a cancel succeeds.
  {
    route: 'POST /api/v1/tasks/{id}/messages',
    prepare: async (t, a, w, o) => ({
      url: await taskUrl(t, a, w, o, '/messages'),
      payload: { text: 'more' },
    }),
    expect: ownerOnly,
  },
  {
    route: 'POST /api/v1/tasks/{id}/interrupt',
    prepare: async (t, a, w, o) => ({ url: await taskUrl(t, a, w, o, '/interrupt') }),
    expect: { own: membersUp(409), other: adminsOnly(409, 404) },
  },
  {
    route: 'POST /api/v1/tasks/{id}/cancel',
    prepare: async (t, a, w, o) => ({ url: await taskUrl(t, a, w, o, '/cancel') }),
    expect: { own: membersUp(202), other: adminsOnly(202, 404) },
  },
  {
    route: 'POST /api/v1/tasks/{id}/approvals/{approvalId}',
    prepare: async (t, a, w, o) => ({
      url: await taskUrl(t, a, w, o, '/approvals/req-1'),
      payload: { decision: 'allow' },
    }),
    expect: ownerOnly,
  },

  // Secrets are the caller's own; nobody addresses anyone else's. A personal key pays for the
  // caller's tasks, which viewers cannot run, so the key routes are for members and up (policy.ts).
  {
    route: 'GET /api/v1/me/secrets',
    prepare: async () => ({ url: '/api/v1/me/secrets' }),
    expect: membersUp(200),
  },
  {
    route: 'PUT /api/v1/me/secrets/anthropic-api-key',
    prepare: async () => ({
      url: '/api/v1/me/secrets/anthropic-api-key',
      payload: { value: 'sk-ant-api03-matrix-0000000000000000' },
    }),
    expect: membersUp(200),
  },
  {
    route: 'DELETE /api/v1/me/secrets/anthropic-api-key',
    prepare: async () => ({ url: '/api/v1/me/secrets/anthropic-api-key' }),
    expect: membersUp(204),
  },
  // Everyone may ask; members get their own usage only (server/http/routes/usageRoutes.test.ts).
  { route: 'GET /api/v1/usage', prepare: async () => ({ url: '/api/v1/usage' }), expect: all(200) },

  { route: 'GET /api/v1/queue', prepare: async () => ({ url: '/api/v1/queue' }), expect: all(200) },
  {
    route: 'GET /api/v1/queue',
    variant: 'everyone’s',
    prepare: async () => ({ url: '/api/v1/queue?owner=all' }),
    expect: adminsOnly(200, 403),
  },
  {
    route: 'GET /api/v1/quota',
    prepare: async (_t, a, w, o) => ({ url: `/api/v1/quota?userId=${userId(a, w, o)}` }),
    expect: { own: all(200), other: adminsOnly(200, 403) },
  },
  {
    route: 'GET /api/v1/quotas',
    prepare: async () => ({ url: '/api/v1/quotas' }),
    expect: adminsOnly(200, 403),
  },
  {
    route: 'PUT /api/v1/quotas/{kind}/{id}',
    prepare: async (_t, a, w, o) => ({
      url: `/api/v1/quotas/users/${userId(a, w, o)}`,
      payload: { maxConcurrentTasks: 4 },
    }),
    expect: adminsOnly(200, 403),
  },
  {
    route: 'DELETE /api/v1/quotas/{kind}/{id}',
    prepare: async (t, a, w, o) => {
      const id = userId(a, w, o);
      await t.services.scheduler.setOverride('user', id, { maxConcurrentTasks: 4 }, id);
      return { url: `/api/v1/quotas/users/${id}` };
    },
    expect: adminsOnly(204, 403),
  },
];
