// Settings › Password: the password form for the signed-in user.
import { useSession } from '../../app/session.js';
import { notifyOk } from '../../lib/notify.js';
import { PasswordForm } from './PasswordForm.js';
import { SettingsSection } from './SettingsSection.js';

export function PasswordSection() {
  const me = useSession();
  const hasPassword = me.user.authMethods.includes('password');
  return (
    <SettingsSection
      title="Password"
      description={
        hasPassword ? undefined : 'You sign in through single sign-on; you may add a password too.'
      }
    >
      <PasswordForm
        me={me}
        onChanged={() => notifyOk('Password changed. Your other sessions were signed out.')}
      />
    </SettingsSection>
  );
}
