// Every domain error's reason or code has a status and reaches the user with its own message;
// anything unknown is a 500 that says nothing about the server's insides.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentErrorReason, RPC_APP_ERROR, RPC_INTERNAL_ERROR } from '../../sdk/agentProtocol.js';
import { RpcError } from '../../sdk/rpcPeer.js';
import { OidcError, type OidcErrorCode } from '../auth/oidcService.js';
import { DriverError, type DriverErrorReason } from '../drivers/runtimeDriver.js';
import { SecretUnreadableError } from '../store/secretStore.js';
import { TaskError } from '../tasks/taskService.js';
import { WorkspaceError } from '../workspaces/workspaceService.js';
import { HttpError, toErrorResponse } from './errors.js';

// `satisfies Record<…>` makes these tables fail to compile when a reason is added without a row.
const driver = {
  invalid_spec: 400,
  not_found: 404,
  unavailable: 503,
  insufficient_resources: 503,
  start_failed: 502,
  internal: 500,
} satisfies Record<DriverErrorReason, number>;

const agent = {
  not_found: 404,
  outside_workspace: 400,
  invalid_path: 400,
  not_a_directory: 400,
  is_a_directory: 400,
  exists: 409,
  busy: 409,
  too_large: 413,
  precondition_failed: 412,
  timeout: 504,
  git_failed: 502,
  spawn_failed: 502,
  internal: 502,
} satisfies Record<AgentErrorReason, number>;

const oidc = {
  oidc_provider_error: 502,
  oidc_state_mismatch: 400,
  oidc_email_missing: 400,
  oidc_domain_not_allowed: 403,
  oidc_email_unverified: 403,
  oidc_exchange_failed: 502,
  account_disabled: 403,
} satisfies Record<OidcErrorCode, number>;

describe('toErrorResponse', () => {
  it.each(Object.entries(driver))('DriverError %s → %i with the user message', (reason, status) => {
    const cause = new Error('EACCES /var/lib/secret-internal-path');
    const err = new DriverError({
      reason: reason as DriverErrorReason,
      userMessage: 'The workspace has no room on this host.',
      cause,
    });
    const res = toErrorResponse(err);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code: reason, message: 'The workspace has no room on this host.' } });
  });

  it('covers every agent error reason the protocol defines', () => {
    expect(Object.keys(agent).sort()).toEqual([...AgentErrorReason.options].sort());
  });

  it.each(Object.entries(agent))('agent error %s → %i as a sentence', (reason, status) => {
    const res = toErrorResponse(
      new RpcError(RPC_APP_ERROR, 'no such file: a.txt', reason as AgentErrorReason),
    );
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code: reason, message: 'No such file: a.txt.' } });
  });

  it('an agent failure without a reason is 502 agent_error', () => {
    const res = toErrorResponse(new RpcError(RPC_INTERNAL_ERROR, 'the agent is not connected'));
    expect(res).toEqual({
      status: 502,
      body: {
        error: { code: 'agent_error', message: 'The workspace agent failed: The agent is not connected.' },
      },
    });
  });

  it.each(Object.entries(oidc))('OidcError %s → %i', (code, status) => {
    const res = toErrorResponse(
      new OidcError(code as OidcErrorCode, 'The sign-in took too long; try again.'),
    );
    expect(res.status).toBe(status);
    expect(res.body.error).toEqual({ code, message: 'The sign-in took too long; try again.' });
  });

  it.each([
    ['conflict', 409, 'workspace_busy'],
    ['invalid', 400, 'validation_failed'],
  ] as const)('WorkspaceError %s → %i %s', (code, status, wire) => {
    const res = toErrorResponse(
      new WorkspaceError(code, 'The workspace is stopping; wait until it has stopped.'),
    );
    expect(res.status).toBe(status);
    expect(res.body.error).toEqual({
      code: wire,
      message: 'The workspace is stopping; wait until it has stopped.',
    });
  });

  it.each([
    [404, 'not_found'],
    [409, 'task_busy'],
    [400, 'validation_failed'],
  ] as const)('TaskError %i %s keeps its status and code', (status, code) => {
    const res = toErrorResponse(new TaskError(status, code, 'The task changed meanwhile.'));
    expect(res).toEqual({ status, body: { error: { code, message: 'The task changed meanwhile.' } } });
  });

  it('a secret that cannot be decrypted names the secret, not the user id', () => {
    const res = toErrorResponse(new SecretUnreadableError('user-1234', 'ANTHROPIC_API_KEY', 'bad tag'));
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('secret_unreadable');
    expect(res.body.error.message).toContain('ANTHROPIC_API_KEY');
    expect(JSON.stringify(res.body)).not.toMatch(/user-1234|bad tag/);
  });

  it('a zod failure inside a handler is 400 naming the field and rule', () => {
    const parsed = z.strictObject({ path: z.string() }).safeParse({ path: 3 });
    const res = toErrorResponse(parsed.error);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.fields).toEqual([{ path: 'input.path', rule: expect.stringMatching(/string/) }]);
  });

  it('an HttpError passes through with its headers', () => {
    const res = toErrorResponse(
      new HttpError(429, 'too_many', 'Slow down.', { headers: { 'retry-after': '3' } }),
    );
    expect(res).toEqual({
      status: 429,
      body: { error: { code: 'too_many', message: 'Slow down.' } },
      headers: { 'retry-after': '3' },
    });
  });

  it.each([
    ['an Error', new TypeError("Cannot read properties of undefined (reading 'secret_column')")],
    ['a string', 'postgres://user:hunter2@db/rc'],
    ['undefined', undefined],
    ['an object', { stack: 'at /srv/app/server/x.ts:1' }],
  ])('anything else (%s) is a 500 that exposes nothing', (_what, thrown) => {
    const res = toErrorResponse(thrown);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: {
        code: 'internal',
        message: 'Something went wrong on the server. The request id in the logs identifies it.',
      },
    });
  });
});
