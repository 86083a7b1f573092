// The app's frame: sign-in until someone is signed in, then the shell and its pages. Pages other
// than the dashboard are loaded on first visit, so the first screen ships little JavaScript.
import { Alert, Center, Loader } from '@mantine/core';
import { lazy, Suspense } from 'react';
import { Route, Switch } from 'wouter';
import { DashboardPage } from '../pages/Dashboard/DashboardPage.js';
import { SignInPage } from '../pages/SignIn/SignInPage.js';
import { Shell } from './Shell.js';
import { SessionProvider, useMeQuery } from './session.js';

// The one-time-password page is seen once per account, so it loads only then.
const ChangePasswordPage = lazy(() =>
  import('../pages/SignIn/ChangePasswordPage.js').then((m) => ({ default: m.ChangePasswordPage })),
);
const TaskPage = lazy(() => import('../pages/TaskView/TaskPage.js'));
const WorkspacesPage = lazy(() => import('../pages/Workspace/WorkspacesPage.js'));
const WorkspacePage = lazy(() => import('../pages/Workspace/WorkspacePage.js'));
const MonitorPage = lazy(() => import('../pages/Monitor/MonitorPage.js'));
const AdminPage = lazy(() => import('../pages/Admin/AdminPage.js'));
const SettingsPage = lazy(() => import('../pages/Settings/SettingsPage.js'));

export function App() {
  const me = useMeQuery();
  if (me.isPending) return <PageLoader />;
  if (me.isError)
    return (
      <Center h="100vh" p="md">
        <Alert color="red" title="Remote Claude is not answering">
          {me.error.message}
        </Alert>
      </Center>
    );
  if (!me.data) return <SignInPage />;
  if (me.data.passwordChangeRequired)
    return (
      <Suspense fallback={<PageLoader />}>
        <ChangePasswordPage me={me.data} />
      </Suspense>
    );
  return (
    <SessionProvider value={me.data}>
      <Shell>
        <Suspense fallback={<PageLoader />}>
          <Switch>
            <Route path="/" component={DashboardPage} />
            <Route path="/tasks/:id">{(p) => <TaskPage id={p.id} />}</Route>
            <Route path="/workspaces">{() => <WorkspacesPage />}</Route>
            <Route path="/workspaces/:id">{(p) => <WorkspacePage id={p.id} />}</Route>
            <Route path="/monitor">{() => <MonitorPage />}</Route>
            <Route path="/admin">{() => <AdminPage />}</Route>
            <Route path="/settings">{() => <SettingsPage />}</Route>
            <Route>
              <Alert color="gray" title="Page not found" m="md">
                There is nothing at this address. Use the menu to find your way.
              </Alert>
            </Route>
          </Switch>
        </Suspense>
      </Shell>
    </SessionProvider>
  );
}

export function PageLoader() {
  return (
    <Center h="50vh">
      <Loader aria-label="Loading" />
    </Center>
  );
}
