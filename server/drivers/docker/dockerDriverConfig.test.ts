import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/loadConfig.js';
import { DEFAULT_DOCKER_NODE, dockerDriverConfig } from './dockerDriverConfig.js';

describe('dockerDriverConfig', () => {
  it('defaults to one node "local" on /var/run/docker.sock', () => {
    const config = dockerDriverConfig(loadConfig({ env: { RC_RUNTIME: 'docker' } }));
    expect(config).toMatchObject({
      image: 'remote-claude/workspace:latest',
      installation: 'default',
      tmpfsSize: '512m',
      init: true,
      callTimeoutMs: 30_000,
      nodes: [DEFAULT_DOCKER_NODE],
    });
  });

  it('maps configured nodes, their endpoints and capacities', () => {
    const config = loadConfig({
      env: { RC_RUNTIME__DOCKER__RUNTIME: 'runsc' },
      flags: {
        nodes: [
          {
            name: 'a',
            docker: { socketPath: '/run/a.sock' },
            capacity: { cpu: '500m', memory: '2G', maxWorkspaces: 3 },
          },
          {
            name: 'b',
            docker: { host: 'b.internal', port: 2376, tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' } },
          },
          { name: 'c', docker: { ssh: 'ssh://ops@c.internal' } },
        ],
      },
    });
    const d = dockerDriverConfig(config);
    expect(d.runtime).toBe('runsc');
    expect(d.nodes.map((n) => n.name)).toEqual(['a', 'b', 'c']);
    expect(d.nodes[0]?.capacity).toEqual({ cpu: 0.5, memoryBytes: 2 * 2 ** 30, maxWorkspaces: 3 });
    expect(d.nodes[1]?.capacity).toEqual({
      cpu: undefined,
      memoryBytes: undefined,
      maxWorkspaces: undefined,
    });
  });

  it('refuses duplicate node names and endpoints of no known shape, naming the key', () => {
    const dup = { name: 'a', docker: { socketPath: '/run/a.sock' } };
    expect(() => loadConfig({ flags: { nodes: [dup, dup] } })).toThrow(/nodes: node names must be unique/);
    expect(() => loadConfig({ flags: { nodes: [{ name: 'x', docker: { url: 'tcp://x' } }] } })).toThrow(
      /nodes\.0\.docker/,
    );
    expect(() => loadConfig({ flags: { 'runtime.docker.installation': 'Has Spaces' } })).toThrow(
      /runtime\.docker\.installation/,
    );
  });
});
