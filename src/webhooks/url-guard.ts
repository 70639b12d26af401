/**
 * Decides whether a callback URL may be called (SSRF guard). Runs at submit
 * time and again before every delivery. Relies on the WHATWG URL parser,
 * which already rewrites decimal, octal and hex IPv4 spellings
 * (`http://2130706433/`, `0x7f.1`) to dotted decimal.
 */
export interface UrlGuardOptions {
  /** Local development: also allows `http://` and loopback hosts — nothing else. */
  allowLocal: boolean;
}

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

export function checkCallbackUrl(raw: string, options: UrlGuardOptions): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not an absolute URL" };
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== "https:" && !(options.allowLocal && url.protocol === "http:" && loopback)) {
    return { ok: false, reason: "must use https://" };
  }
  if (url.username || url.password) return { ok: false, reason: "must not contain credentials" };
  if (loopback)
    return options.allowLocal ? { ok: true, url } : { ok: false, reason: "must not name a loopback address" };
  if (isNonPublicHost(url.hostname)) return { ok: false, reason: "must name a public address" };
  return { ok: true, url };
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = parseIPv4(host) ?? ipv4FromMappedIPv6(host);
  if (v4) return v4[0] === 127;
  return host === "[::1]";
}

function isNonPublicHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  const v4 = parseIPv4(host) ?? ipv4FromMappedIPv6(host);
  if (v4) return isNonPublicIPv4(v4);
  if (host.startsWith("[")) return isNonPublicIPv6(host.slice(1, -1));
  // Single-label names resolve on a local network, never on the public internet.
  return !host.includes(".") || host.endsWith(".local") || host.endsWith(".internal");
}

function parseIPv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** `::ffff:a.b.c.d` as the URL parser writes it: `[::ffff:7f00:1]`. */
function ipv4FromMappedIPv6(host: string): number[] | null {
  const match = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (!match) return null;
  const hi = Number.parseInt(match[1] as string, 16);
  const lo = Number.parseInt(match[2] as string, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255];
}

function isNonPublicIPv4([a, b]: number[]): boolean {
  return (
    a === 0 || // "this network", unspecified
    a === 10 ||
    a === 127 ||
    (a === 100 && (b as number) >= 64 && (b as number) <= 127) || // CGNAT 100.64/10
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && (b as number) >= 16 && (b as number) <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // 192.0.0/24 protocol assignments, 192.0.2/24 documentation
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a as number) >= 224 // multicast and reserved, broadcast
  );
}

function isNonPublicIPv6(address: string): boolean {
  const groups = expandIPv6(address);
  if (!groups) return true;
  const first = groups[0] as number;
  if (groups.every((g) => g === 0)) return true; // ::
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true; // ::1
  if (groups.slice(0, 5).every((g) => g === 0) && (groups[5] === 0xffff || groups[5] === 0)) {
    // IPv4-mapped and IPv4-compatible forms: judge the embedded address.
    const hi = groups[6] as number;
    const lo = groups[7] as number;
    return isNonPublicIPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  if (first === 0x64 && groups[1] === 0xff9b) return true; // NAT64 can reach internal IPv4
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xffc0) === 0xfec0 || // site-local (deprecated) fec0::/10
    (first & 0xff00) === 0xff00 || // multicast ff00::/8
    (first === 0x2001 && groups[1] === 0x0db8) // documentation
  );
}

function expandIPv6(address: string): number[] | null {
  const [head, tail, ...rest] = address.split("::");
  if (rest.length > 0) return null;
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return null;
  const groups = [...left, ...Array(Math.max(0, missing)).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}
