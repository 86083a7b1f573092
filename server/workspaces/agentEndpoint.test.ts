import { describe, expect, it } from 'vitest';
import { agentEndpointUrl } from './agentEndpoint.js';

describe('agentEndpointUrl', () => {
  it('derives ws:// from an http public URL and wss:// from an https one', () => {
    expect(agentEndpointUrl(undefined, 'http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/api/v1/agent');
    expect(agentEndpointUrl(undefined, 'https://rc.example.com/')).toBe('wss://rc.example.com/api/v1/agent');
  });

  it('keeps a path prefix of the public URL', () => {
    expect(agentEndpointUrl(undefined, 'https://example.com/rc/')).toBe('wss://example.com/rc/api/v1/agent');
  });

  it('prefers the server.agentUrl override', () => {
    expect(agentEndpointUrl('wss://agents.internal:8443/api/v1/agent', 'https://rc.example.com')).toBe(
      'wss://agents.internal:8443/api/v1/agent',
    );
  });
});
