// One workspace: its status and resources, then its files and terminals in tabs. The tab lives
// in the URL (?tab=terminals), so a reload comes back to it and reattaches the terminals.
// Each tab mounts on first visit and then stays mounted, so terminals keep their connection
// while the files are shown, and xterm is not loaded until someone wants a terminal.
import { Alert, Anchor, Center, Loader, Stack, Tabs } from '@mantine/core';
import { useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import { ApiError } from '../../../sdk/client/apiError.js';
import type { WorkspaceStatus } from '../../../sdk/workspaceWire.js';
import { useSession } from '../../app/session.js';
import { workspaceStatusLook } from '../../lib/status.js';
import { FilesPanel } from './FilesPanel.js';
import { TerminalsPanel } from './TerminalsPanel.js';
import { WorkspaceStatusPanel } from './WorkspaceStatusPanel.js';
import { useWorkspace } from './workspaceApi.js';

type Tab = 'files' | 'terminals';

const NOT_RUNNING: Record<Exclude<WorkspaceStatus, 'running'>, string> = {
  pending: 'Its files and terminals appear here once it has started.',
  starting:
    'Its files and terminals appear here once it has started (the first start clones the repository).',
  stopping: 'Its files are kept; start it again to use them and its terminals.',
  stopped: 'Its files are kept; start it to use them and its terminals.',
  failed: 'The reason is shown above. Start it again to retry; its files are kept.',
};

export default function WorkspacePage({ id = '' }: { id?: string }) {
  const me = useSession();
  const ws = useWorkspace(id);
  const [params, setParams] = useSearchParams();
  const tab: Tab = params.get('tab') === 'terminals' ? 'terminals' : 'files';
  const [visited, setVisited] = useState<Record<Tab, boolean>>({ files: false, terminals: false });
  if (!visited[tab]) setVisited({ ...visited, [tab]: true });

  if (ws.isPending)
    return (
      <Center h="40vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (ws.isError) {
    const missing = ws.error instanceof ApiError && ws.error.status === 404;
    return (
      <Alert color={missing ? 'gray' : 'red'} title={missing ? 'Workspace not found' : 'Could not load it'}>
        {missing ? 'There is no workspace here, or it belongs to someone else. ' : `${ws.error.message} `}
        <Anchor component={Link} href="/workspaces">
          Back to your workspaces
        </Anchor>
      </Alert>
    );
  }
  const w = ws.data;
  const owner = w.ownerId === me.user.id;

  return (
    <Stack>
      <WorkspaceStatusPanel workspace={w} />
      {w.status === 'running' && w.idleStopAt && (
        <Alert color="yellow" title="Stopping soon for inactivity" role="status">
          This workspace stops at{' '}
          {new Date(w.idleStopAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} for
          inactivity — open a terminal or run a task to keep it. Its files are kept either way.
        </Alert>
      )}
      {w.status !== 'running' ? (
        <Alert color="gray" title={`The workspace is ${workspaceStatusLook[w.status].label.toLowerCase()}`}>
          {NOT_RUNNING[w.status]}
        </Alert>
      ) : (
        <Tabs
          value={tab}
          onChange={(v) => setParams(v === 'terminals' ? { tab: v } : {}, { replace: true })}
          keepMounted
        >
          {/* Panels stay mounted while the agent reconnects, so an unsaved edit is not lost. */}
          {!w.agentConnected && (
            <Alert color="yellow" mb="sm">
              The workspace's agent is not connected; files and terminals answer again once it reconnects.
            </Alert>
          )}
          <Tabs.List>
            <Tabs.Tab value="files">Files</Tabs.Tab>
            <Tabs.Tab value="terminals">Terminals</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="files" pt="sm">
            {visited.files && <FilesPanel workspaceId={w.id} canWrite={owner} />}
          </Tabs.Panel>
          <Tabs.Panel value="terminals" pt="sm">
            {owner ? (
              visited.terminals && <TerminalsPanel workspaceId={w.id} visible={tab === 'terminals'} />
            ) : (
              <Alert color="gray" title="Terminals are for the owner">
                Only the workspace's owner may open a shell in it; admins can read its files.
              </Alert>
            )}
          </Tabs.Panel>
        </Tabs>
      )}
    </Stack>
  );
}
