import { randomSecret } from './auth/secrets.js';
import type { Services } from './services.js';
import { isUniqueViolation } from './store/storeErrors.js';

const DEFAULT_ADMIN_EMAIL = 'admin@remote-claude.local';

export interface BootstrapResult {
  email: string;
  /** Set only when the password was generated here; the caller prints it once and forgets it. */
  generatedPassword?: string;
}

/**
 * On the first start (no user at all) create an owner from RC_ADMIN_EMAIL/RC_ADMIN_PASSWORD, or
 * with a generated password. Does nothing once any user exists. Returns what it created.
 */
export async function bootstrapAdmin(s: Services): Promise<BootstrapResult | undefined> {
  if ((await s.users.count()) > 0) return undefined;
  const email = (s.config.admin.email ?? DEFAULT_ADMIN_EMAIL).toLowerCase();
  const generated = s.config.admin.password ? undefined : randomSecret(15);
  const password = s.config.admin.password ?? (generated as string);
  try {
    const user = await s.users.create({
      email,
      name: 'Administrator',
      role: 'owner',
      passwordHash: await s.hasher.hash(password),
      // A generated password has been printed to a terminal (and maybe a log): it works once.
      passwordMustChange: generated !== undefined,
    });
    await s.auditStore.append({
      actorId: null,
      actorEmail: null,
      action: 'user.bootstrap_admin',
      targetType: 'user',
      targetId: user.id,
      result: 'success',
      detail: { email, passwordSource: generated ? 'generated' : 'RC_ADMIN_PASSWORD' },
    });
  } catch (err) {
    // Another replica starting at the same moment created it first.
    if (isUniqueViolation(err)) return undefined;
    throw err;
  }
  return { email, ...(generated ? { generatedPassword: generated } : {}) };
}
