// Header and navigation around every signed-in page. On a phone the navigation folds into a
// burger menu and closes after a choice.
import { AppShell, Burger, Group, Menu, NavLink, Text, UnstyledButton } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { api } from '../api/client.js';
import { isAdmin, useSession, useSignedOut } from './session.js';

const NAV = [
  { href: '/', label: 'Tasks', admin: false },
  { href: '/workspaces', label: 'Workspaces', admin: false },
  { href: '/monitor', label: 'Resources', admin: false },
  { href: '/admin', label: 'Admin', admin: true },
  { href: '/settings', label: 'Settings', admin: false },
];

export function Shell({ children }: { children: ReactNode }) {
  const me = useSession();
  const [opened, { toggle, close }] = useDisclosure();
  const [location] = useLocation();
  const signedOut = useSignedOut();
  const signOut = async () => {
    // Signed out either way: a session the server already forgot is just as gone.
    await api.auth.logout().catch(() => undefined);
    signedOut();
  };
  const active = (href: string) =>
    href === '/' ? location === '/' || location.startsWith('/tasks') : location.startsWith(href);
  return (
    <AppShell
      header={{ height: 52 }}
      navbar={{ width: 200, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Menu" />
            <Text fw={700} component={Link} href="/" c="inherit" td="none">
              Remote Claude
            </Text>
          </Group>
          <Menu position="bottom-end">
            <Menu.Target>
              <UnstyledButton aria-label="Account">
                <Text size="sm" truncate maw={220}>
                  {me.user.name ?? me.user.email}
                </Text>
              </UnstyledButton>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>
                {me.user.email} · {me.user.role}
              </Menu.Label>
              <Menu.Item component={Link} href="/settings">
                Settings
              </Menu.Item>
              <Menu.Item onClick={signOut}>Sign out</Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        {NAV.filter((n) => !n.admin || isAdmin(me)).map((n) => (
          <NavLink
            key={n.href}
            component={Link}
            href={n.href}
            label={n.label}
            active={active(n.href)}
            onClick={close}
            aria-current={active(n.href) ? 'page' : undefined}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main id="main">{children}</AppShell.Main>
    </AppShell>
  );
}
