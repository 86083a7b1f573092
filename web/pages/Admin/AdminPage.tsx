// The admin page: users, teams, quota overrides and the audit log, for owners and admins. Anyone
// else gets a plain explanation and the page calls no admin endpoint for them (each tab fetches
// only when shown).
import { Alert, Stack, Tabs, Title } from '@mantine/core';
import { useSearchParams } from 'wouter';
import { isAdmin, useSession } from '../../app/session.js';
import { AuditTab } from './AuditTab.js';
import { QuotasTab } from './QuotasTab.js';
import { TeamsTab } from './TeamsTab.js';
import { UsersTab } from './UsersTab.js';

const TABS = { users: 'Users', teams: 'Teams', quotas: 'Quotas', audit: 'Audit log' } as const;
type Tab = keyof typeof TABS;
const isTab = (v: string | null): v is Tab => v !== null && v in TABS;

export default function AdminPage() {
  const me = useSession();
  const [params, setParams] = useSearchParams();
  if (!isAdmin(me))
    return (
      <Alert color="gray" title="You need the admin role" maw={560}>
        Users, teams, quotas and the audit log are managed by owners and admins. Ask one of them if you need a
        change.
      </Alert>
    );
  // The tab lives in the address (?tab=teams), so a reload or a shared link opens the same one.
  const tab = params.get('tab');
  const current: Tab = isTab(tab) ? tab : 'users';
  return (
    <Stack>
      <Title order={1} size="h2">
        Admin
      </Title>
      <Tabs
        value={current}
        onChange={(v) => isTab(v) && setParams({ tab: v }, { replace: true })}
        keepMounted={false}
      >
        <Tabs.List mb="md">
          {(Object.keys(TABS) as Tab[]).map((t) => (
            <Tabs.Tab key={t} value={t}>
              {TABS[t]}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="users">
          <UsersTab />
        </Tabs.Panel>
        <Tabs.Panel value="teams">
          <TeamsTab />
        </Tabs.Panel>
        <Tabs.Panel value="quotas">
          <QuotasTab />
        </Tabs.Panel>
        <Tabs.Panel value="audit">
          <AuditTab />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
