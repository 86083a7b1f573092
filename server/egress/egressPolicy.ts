// What the egress proxy lets a workspace reach: the allowlist from `egress.allow` (DESIGN.md §5),
// and the address ranges that stay closed even for allowlisted names, so that a name resolving to
// cloud metadata (169.254.169.254), loopback or the private network is refused after DNS.
import { BlockList, isIP } from 'node:net';

/** One parsed `egress.allow` entry. `host` is normalised (see `normalizeHost`). */
export interface AllowEntry {
  host: string;
  /** `*.example.com`: any subdomain of `host`, never `host` itself. */
  wildcard: boolean;
  /** Absent: ports 80 and 443 only. */
  port?: number;
}

/** A host and port a client asked for, host normalised. */
export interface Target {
  host: string;
  port: number;
}

/** Why an address is refused; used in the refusal message ("resolves to a link-local address"). */
export type BlockedRange =
  | 'loopback'
  | 'link-local'
  | 'private'
  | 'carrier-grade NAT'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

const DEFAULT_PORTS = [80, 443];
const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** Lower-cases, drops one trailing dot and the brackets around an IPv6 literal. */
export function normalizeHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.') && isIP(h) === 0) h = h.slice(0, -1);
  return h;
}

/** `host:port` as a person writes it, with brackets around IPv6. */
export function formatTarget({ host, port }: Target): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

function isValidHost(host: string): boolean {
  return isIP(host) !== 0 || (host.length <= 253 && HOST_NAME.test(host));
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Splits `host:port`, `[v6]:port`, or (with `defaultPort`) a bare host or `[v6]`.
 * Returns undefined for anything else: no host, a bad host name, port 0 or above 65535,
 * user info, or an IPv6 literal without brackets.
 */
export function parseAuthority(authority: string, defaultPort?: number): Target | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]@]+)(?::(\d*))?$/.exec(authority);
  if (!m?.[1]) return undefined;
  const host = normalizeHost(m[1]);
  if (m[1].startsWith('[') ? isIP(host) !== 6 : !isValidHost(host)) return undefined;
  const port = m[2] === undefined ? defaultPort : parsePort(m[2]);
  return port === undefined ? undefined : { host, port };
}

/** Parses one `egress.allow` entry; throws an Error naming the entry when it is not valid. */
export function parseAllowEntry(entry: string): AllowEntry {
  const wildcard = entry.startsWith('*.');
  const rest = wildcard ? entry.slice(2) : entry;
  const explicit = parseAuthority(rest);
  const target = explicit ?? parseAuthority(rest, 0);
  if (!target || (wildcard && isIP(target.host) !== 0)) {
    throw new Error(`egress allowlist entry "${entry}" is not a host, *.domain, host:port or [v6]:port`);
  }
  return explicit ? { host: target.host, wildcard, port: target.port } : { host: target.host, wildcard };
}

export function parseAllowlist(entries: readonly string[]): AllowEntry[] {
  return entries.map(parseAllowEntry);
}

function hostMatches(entry: AllowEntry, host: string): boolean {
  return entry.wildcard ? host.endsWith(`.${entry.host}`) : host === entry.host;
}

function portMatches(entry: AllowEntry, port: number): boolean {
  return entry.port === undefined ? DEFAULT_PORTS.includes(port) : entry.port === port;
}

/** True when an entry covers `host` (as the client wrote it) on `port`. */
export function isHostAllowed(allow: readonly AllowEntry[], host: string, port: number): boolean {
  const h = normalizeHost(host);
  return allow.some((e) => hostMatches(e, h) && portMatches(e, port));
}

/**
 * True when an entry names exactly this host and this port, with no wildcard. Only such an entry
 * opens a blocked address: `127.0.0.1:8123` or `git.test:8123` lets tests reach a loopback server,
 * while `*.example.com` or a bare `example.com` never lead into the private network.
 */
export function isExplicitlyAllowed(allow: readonly AllowEntry[], host: string, port: number): boolean {
  const h = normalizeHost(host);
  return allow.some((e) => !e.wildcard && e.port === port && e.host === h);
}

const ranges: [BlockedRange, BlockList][] = (
  [
    [
      'loopback',
      [
        ['127.0.0.0', 8, 'ipv4'],
        ['::1', 128, 'ipv6'],
      ],
    ],
    [
      'link-local',
      [
        ['169.254.0.0', 16, 'ipv4'],
        ['fe80::', 10, 'ipv6'],
      ],
    ],
    [
      'private',
      [
        ['10.0.0.0', 8, 'ipv4'],
        ['172.16.0.0', 12, 'ipv4'],
        ['192.168.0.0', 16, 'ipv4'],
        ['fc00::', 7, 'ipv6'],
      ],
    ],
    ['carrier-grade NAT', [['100.64.0.0', 10, 'ipv4']]],
    [
      'unspecified',
      [
        ['0.0.0.0', 8, 'ipv4'],
        ['::', 128, 'ipv6'],
      ],
    ],
    [
      'multicast',
      [
        ['224.0.0.0', 4, 'ipv4'],
        ['ff00::', 8, 'ipv6'],
      ],
    ],
    ['broadcast', [['255.255.255.255', 32, 'ipv4']]],
    // 240/4 is reserved for future use; ::/96 held the deprecated IPv4-compatible addresses.
    [
      'reserved',
      [
        ['240.0.0.0', 4, 'ipv4'],
        ['::', 96, 'ipv6'],
      ],
    ],
  ] as const
).map(([name, subnets]) => {
  const list = new BlockList();
  for (const [net, prefix, family] of subnets) list.addSubnet(net, prefix, family);
  return [name, list];
});

/** The eight 16-bit groups of a valid IPv6 address (with or without a dotted IPv4 tail). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) IPv6
 * address, which reach that IPv4 host; undefined for other addresses.
 */
function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !nat64) return undefined;
  const [hi = 0, lo = 0] = g.slice(6);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

/** The blocked range an IP address falls in, or undefined when it may be reached. */
export function blockedRange(address: string): BlockedRange | undefined {
  const bare = address.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) throw new Error(`"${address}" is not an IP address`);
  const v4 = family === 6 ? embeddedIpv4(bare) : bare;
  const [ip, type] = v4 === undefined ? [bare, 'ipv6' as const] : [v4, 'ipv4' as const];
  return ranges.find(([, list]) => list.check(ip, type))?.[0];
}

/** True for loopback, link-local, private, CGNAT, unspecified, multicast, broadcast and reserved. */
export function isAddressBlocked(address: string): boolean {
  return blockedRange(address) !== undefined;
}
