import { describe, expect, it } from 'vitest';
import {
  blockedRange,
  isAddressBlocked,
  isExplicitlyAllowed,
  isHostAllowed,
  parseAllowEntry,
  parseAllowlist,
  parseAuthority,
} from './egressPolicy.js';

describe('parseAllowEntry', () => {
  it('reads host, *.domain, host:port, [v6]:port and IPv4 with port', () => {
    expect(parseAllowEntry('GitHub.com.')).toEqual({ host: 'github.com', wildcard: false });
    expect(parseAllowEntry('*.example.com')).toEqual({ host: 'example.com', wildcard: true });
    expect(parseAllowEntry('*.example.com:8443')).toEqual({
      host: 'example.com',
      wildcard: true,
      port: 8443,
    });
    expect(parseAllowEntry('npm.corp.example:8443')).toEqual({
      host: 'npm.corp.example',
      wildcard: false,
      port: 8443,
    });
    expect(parseAllowEntry('[::1]:8123')).toEqual({ host: '::1', wildcard: false, port: 8123 });
    expect(parseAllowEntry('127.0.0.1:8123')).toEqual({ host: '127.0.0.1', wildcard: false, port: 8123 });
  });

  it.each(['', 'bad host', 'host:0', 'host:65536', 'host:', '::1', '*.10.0.0.1', 'a..b', 'user@host', '*.'])(
    'refuses %j',
    (entry) => {
      expect(() => parseAllowEntry(entry)).toThrow(/egress allowlist entry/);
    },
  );
});

describe('parseAuthority', () => {
  it('needs a port unless given a default', () => {
    expect(parseAuthority('example.com:443')).toEqual({ host: 'example.com', port: 443 });
    expect(parseAuthority('example.com')).toBeUndefined();
    expect(parseAuthority('example.com', 80)).toEqual({ host: 'example.com', port: 80 });
    expect(parseAuthority('[2001:db8::1]:443')).toEqual({ host: '2001:db8::1', port: 443 });
    expect(parseAuthority('[not-v6]:443')).toBeUndefined();
    expect(parseAuthority('example.com:0')).toBeUndefined();
    expect(parseAuthority('example.com:99999')).toBeUndefined();
    expect(parseAuthority('example.com:http')).toBeUndefined();
  });
});

describe('isHostAllowed', () => {
  const allow = parseAllowlist(['github.com', '*.example.com', 'git.corp.test:8443', '[::1]:9000']);

  it('allows ports 80 and 443 for entries without a port, and only the named port otherwise', () => {
    expect(isHostAllowed(allow, 'github.com', 443)).toBe(true);
    expect(isHostAllowed(allow, 'github.com', 80)).toBe(true);
    expect(isHostAllowed(allow, 'github.com', 22)).toBe(false);
    expect(isHostAllowed(allow, 'git.corp.test', 8443)).toBe(true);
    expect(isHostAllowed(allow, 'git.corp.test', 443)).toBe(false);
    expect(isHostAllowed(allow, '::1', 9000)).toBe(true);
    expect(isHostAllowed(allow, '[::1]', 9000)).toBe(true);
  });

  it('matches a wildcard on any subdomain depth but not the domain itself', () => {
    expect(isHostAllowed(allow, 'a.example.com', 443)).toBe(true);
    expect(isHostAllowed(allow, 'a.b.example.com', 443)).toBe(true);
    expect(isHostAllowed(allow, 'example.com', 443)).toBe(false);
    expect(isHostAllowed(allow, 'evilexample.com', 443)).toBe(false);
    expect(isHostAllowed(allow, 'example.com.evil.test', 443)).toBe(false);
  });

  it('ignores case and one trailing dot', () => {
    expect(isHostAllowed(allow, 'GitHub.COM.', 443)).toBe(true);
    expect(isHostAllowed(allow, 'A.Example.Com', 443)).toBe(true);
    expect(isHostAllowed(allow, 'gitlab.com', 443)).toBe(false);
  });
});

describe('isExplicitlyAllowed', () => {
  it('needs an exact host and an explicit port', () => {
    const allow = parseAllowlist(['127.0.0.1:8123', 'localhost:8123', 'internal.test', '*.corp.test:8080']);
    expect(isExplicitlyAllowed(allow, '127.0.0.1', 8123)).toBe(true);
    expect(isExplicitlyAllowed(allow, 'LOCALHOST', 8123)).toBe(true);
    expect(isExplicitlyAllowed(allow, '127.0.0.1', 8124)).toBe(false);
    expect(isExplicitlyAllowed(allow, 'internal.test', 443)).toBe(false);
    expect(isExplicitlyAllowed(allow, 'a.corp.test', 8080)).toBe(false);
  });
});

describe('blockedRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:169.254.169.254', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['::127.0.0.1', 'reserved'],
  ])('%s is %s', (address, range) => {
    expect(blockedRange(address)).toBe(range);
    expect(isAddressBlocked(address)).toBe(true);
  });

  it.each([
    '140.82.112.3',
    '8.8.8.8',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    'fec0::1',
  ])('%s is reachable', (address) => {
    expect(blockedRange(address)).toBeUndefined();
    expect(isAddressBlocked(address)).toBe(false);
  });

  it('throws for something that is not an IP address', () => {
    expect(() => blockedRange('example.com')).toThrow(/not an IP address/);
  });
});
