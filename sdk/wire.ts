// Wire types of the public API (/api/v1). The server validates requests and serialises responses
// with these schemas, the CLI and the web UI import them, and the OpenAPI document is generated
// from them — so there is exactly one definition of every shape that crosses the wire.
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './limits.js';
import './zodMessages.js';

export const orgRoles = ['owner', 'admin', 'member', 'viewer'] as const;
export const OrgRole = z.enum(orgRoles).describe('Organisation role, from most to least powerful.');
export type OrgRole = z.infer<typeof OrgRole>;

export const teamRoles = ['maintainer', 'member'] as const;
export const TeamRole = z.enum(teamRoles).describe('Role inside one team; maintainers manage its members.');
export type TeamRole = z.infer<typeof TeamRole>;

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH };

export const Id = z.string().min(1).max(64);
export const Email = z
  // Only the format check gets this message; a wrong type keeps the generic "must be a string".
  .email({ error: (iss) => (iss.code === 'invalid_format' ? 'must be a valid email address' : undefined) })
  .max(254)
  .transform((s) => s.toLowerCase());
export const Password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, { error: `must be at least ${PASSWORD_MIN_LENGTH} characters` })
  .max(PASSWORD_MAX_LENGTH, { error: `must be at most ${PASSWORD_MAX_LENGTH} characters` });
export const DisplayName = z.string().trim().min(1).max(200);
const Timestamp = z.string().describe('ISO 8601 timestamp (UTC).');

// ---- errors -------------------------------------------------------------------------------------

export const ErrorEnvelope = z.object({
  error: z.object({
    code: z.string().describe('Stable machine-readable code, e.g. validation_failed, not_found.'),
    message: z.string().describe('A full sentence for a person.'),
    detail: z.string().optional().describe('Technical detail, when it helps.'),
    fields: z
      .array(z.object({ path: z.string(), rule: z.string() }))
      .optional()
      .describe('Input fields that failed validation, with the rule each broke.'),
  }),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

// ---- users ----------------------------------------------------------------------------------------

export const User = z.object({
  id: Id,
  email: z.string(),
  name: z.string().nullable(),
  role: OrgRole,
  disabled: z.boolean(),
  authMethods: z.array(z.enum(['password', 'oidc'])),
  createdAt: Timestamp,
  lastLoginAt: Timestamp.nullable(),
});
export type User = z.infer<typeof User>;

export const CreateUserBody = z.strictObject({
  email: Email,
  name: DisplayName.optional(),
  password: Password.optional().describe('Omit for users who only sign in through OIDC.'),
  role: OrgRole.default('member'),
});
export type CreateUserBody = z.input<typeof CreateUserBody>;

export const UpdateUserBody = z
  .strictObject({
    name: DisplayName.nullable().optional(),
    role: OrgRole.optional(),
    disabled: z.boolean().optional(),
    password: Password.optional(),
    currentPassword: z
      .string()
      .max(PASSWORD_MAX_LENGTH)
      .optional()
      .describe('Required when changing your own password, if you have one.'),
  })
  .refine((b) => Object.keys(b).length > 0, { error: 'at least one field must be given' });
export type UpdateUserBody = z.input<typeof UpdateUserBody>;

export const UserList = z.object({ items: z.array(User) });

// ---- auth -------------------------------------------------------------------------------------------

export const LoginBody = z.strictObject({
  email: Email,
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});
export type LoginBody = z.input<typeof LoginBody>;

export const Me = z.object({
  user: User,
  authMethod: z.enum(['session', 'token']),
  csrfToken: z
    .string()
    .optional()
    .describe('Send as the X-CSRF-Token header on mutating requests authenticated by the session cookie.'),
  teams: z.array(z.object({ id: Id, name: z.string(), role: TeamRole })),
  passwordChangeRequired: z
    .boolean()
    .describe(
      'True while the password is a generated one-time password: set a new one before anything else.',
    ),
});
export type Me = z.infer<typeof Me>;

export const AuthProviders = z.object({
  password: z.boolean(),
  oidc: z.object({ enabled: z.boolean(), label: z.string() }),
});
export type AuthProviders = z.infer<typeof AuthProviders>;

// ---- API tokens ---------------------------------------------------------------------------------

export const ApiToken = z.object({
  id: Id,
  name: z.string(),
  prefix: z
    .string()
    .describe('First characters of the token, to recognise it; the rest is never shown again.'),
  createdAt: Timestamp,
  expiresAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
  userId: Id,
});
export type ApiToken = z.infer<typeof ApiToken>;

export const CreateTokenBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  expiresInDays: z
    .int()
    .min(1)
    .max(3650)
    .nullable()
    .default(90)
    .describe('Lifetime in days; null for a token that never expires.'),
});
export type CreateTokenBody = z.input<typeof CreateTokenBody>;

export const CreatedToken = ApiToken.extend({
  token: z.string().describe('The secret. Shown once, in this response only.'),
});
export type CreatedToken = z.infer<typeof CreatedToken>;

export const TokenList = z.object({ items: z.array(ApiToken) });

// ---- teams ------------------------------------------------------------------------------------------

export const TeamName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u, {
    error: 'must start with a letter or digit and contain only letters, digits, spaces, ".", "_" or "-"',
  });

export const TeamMember = z.object({
  userId: Id,
  email: z.string(),
  name: z.string().nullable(),
  role: TeamRole,
  addedAt: Timestamp,
});
export type TeamMember = z.infer<typeof TeamMember>;

export const Team = z.object({
  id: Id,
  name: z.string(),
  description: z.string().nullable(),
  createdAt: Timestamp,
  members: z.array(TeamMember),
});
export type Team = z.infer<typeof Team>;

export const TeamList = z.object({ items: z.array(Team) });

export const CreateTeamBody = z.strictObject({
  name: TeamName,
  description: z.string().trim().max(1000).nullable().optional(),
});
export type CreateTeamBody = z.input<typeof CreateTeamBody>;

export const UpdateTeamBody = z
  .strictObject({
    name: TeamName.optional(),
    description: z.string().trim().max(1000).nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { error: 'at least one field must be given' });

export const PutTeamMemberBody = z.strictObject({ role: TeamRole.default('member') });

// ---- audit --------------------------------------------------------------------------------------------

export const auditResults = ['success', 'failure', 'denied', 'error'] as const;

export const AuditEntry = z.object({
  id: z.number().int(),
  at: Timestamp,
  actorId: z.string().nullable(),
  actorEmail: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  result: z.enum(auditResults),
  statusCode: z.number().int().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditQuery = z.strictObject({
  actor: z.string().max(254).optional().describe('Actor user id or email.'),
  action: z.string().max(100).optional().describe('Exact action, or a prefix ending in "." (e.g. "auth.").'),
  target: z.string().max(200).optional().describe('Target id, or "type:id".'),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  cursor: z
    .string()
    .max(40)
    .regex(/^\d+$/, { error: 'must be a cursor returned by a previous page' })
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AuditQuery = z.input<typeof AuditQuery>;

export const AuditPage = z.object({
  items: z.array(AuditEntry),
  next: z.string().nullable().describe('Pass as cursor to get the next (older) page; null at the end.'),
});
export type AuditPage = z.infer<typeof AuditPage>;

export const IdParams = z.strictObject({ id: Id });
export const TeamMemberParams = z.strictObject({ id: Id, userId: Id });
