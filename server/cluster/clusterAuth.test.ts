// The HMAC that authenticates replica-to-replica requests, with configured secrets (the generated
// one, shared through the store, is exercised by agentRelay.test.ts).
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { SettingStore } from '../store/settingStore.js';
import { CLOCK_WINDOW_MS, ClusterAuth } from './clusterAuth.js';

const noStore = {
  getOrCreate: () => Promise.reject(new Error('a configured secret never reads the store')),
} as unknown as SettingStore;
const auth = (secret: string, clock = new ManualClock(new Date('2026-01-01T00:00:00.000Z'))) =>
  new ClusterAuth({ configured: secret, settings: noStore, clock });

describe('ClusterAuth', () => {
  const S1 = 'a'.repeat(43);
  const S2 = 'b'.repeat(43);

  it('accepts what a replica with the same secret signed, within the clock window on either side', async () => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00.000Z'));
    const headers = await auth(S1, clock).sign('POST', '/internal/v1/x', '{}');
    const receiver = new ManualClock(clock.now());
    receiver.advance(CLOCK_WINDOW_MS);
    expect(await auth(S1, receiver).check('post', '/internal/v1/x', headers, '{}')).toBeUndefined();
    receiver.advance(1);
    expect(await auth(S1, receiver).check('POST', '/internal/v1/x', headers, '{}')).toBe('stale_timestamp');
    const early = new ManualClock(new Date(clock.now().getTime() - CLOCK_WINDOW_MS - 1));
    expect(await auth(S1, early).check('POST', '/internal/v1/x', headers, '{}')).toBe('stale_timestamp');
  });

  it('refuses another secret, method, path or body', async () => {
    const headers = await auth(S1).sign('POST', '/internal/v1/x', '{}');
    expect(await auth(S2).check('POST', '/internal/v1/x', headers, '{}')).toBe('bad_signature');
    expect(await auth(S1).check('PUT', '/internal/v1/x', headers, '{}')).toBe('bad_signature');
    expect(await auth(S1).check('POST', '/internal/v1/y', headers, '{}')).toBe('bad_signature');
    expect(await auth(S1).check('POST', '/internal/v1/x', headers, '{"a":1}')).toBe('bad_signature');
    expect(await auth(S1).check('POST', '/internal/v1/x', {}, '{}')).toBe('missing_signature');
  });
});
