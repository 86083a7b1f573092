import { describe, expect, it } from 'vitest';
import type { Workspace } from '../sdk/workspaceWire.js';
import { describeWorkspace, statusText } from './workspaceOutput.js';

const running: Workspace = {
  id: '0b1c2d3e-0000-4000-8000-000000000001',
  ownerId: '0b1c2d3e-0000-4000-8000-000000000002',
  repository: 'https://git.example.test/a/app',
  name: 'app',
  status: 'running',
  statusReason: null,
  health: 'healthy',
  agentConnected: true,
  driver: 'local',
  resources: { cpu: 1, memoryBytes: 1024 ** 3, pids: 256 },
  usage: null,
  lastHeartbeatAt: null,
  createdAt: '2026-03-01T10:00:00.000Z',
  updatedAt: '2026-03-01T10:00:00.000Z',
  startedAt: '2026-03-01T10:00:00.000Z',
  stoppedAt: null,
  idleStopAt: null,
};

describe('rclaude ws show: lifecycle limits', () => {
  it('says when a warned workspace stops for inactivity, and nothing otherwise', () => {
    const now = Date.parse('2026-03-01T10:26:00.000Z');
    expect(describeWorkspace(running, now)).not.toContain('Idle stop');
    expect(describeWorkspace({ ...running, idleStopAt: '2026-03-01T10:30:00.000Z' }, now)).toContain(
      'Idle stop   2026-03-01 10:30 UTC unless used before',
    );
  });

  it('shows why a limit stopped it', () => {
    const stopped: Workspace = {
      ...running,
      status: 'stopped',
      statusReason: 'Stopped after 30 min without activity (sessions.idleTimeout)',
    };
    expect(statusText(stopped)).toBe(
      'stopped (Stopped after 30 min without activity (sessions.idleTimeout))',
    );
  });
});
