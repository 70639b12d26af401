import ipaddr from "ipaddr.js";

/**
 * Decides whether a callback URL may be called (SSRF guard). Runs at submit
 * time and again before every delivery, on the canonical host: the WHATWG URL
 * parser lower-cases names, writes IDNs as punycode and rewrites decimal,
 * octal and hex IPv4 spellings (`http://2130706433/`, `0x7f.1`) to dotted
 * decimal; this module then removes trailing dots (`localhost.` is
 * `localhost`). Addresses are classified by ipaddr.js against the IANA
 * special-purpose address registries for IPv4 and IPv6. Host names are not
 * resolved here.
 */
export interface UrlGuardOptions {
  /** Local development: also allows `http://` and loopback hosts — nothing else. */
  allowLocal: boolean;
}

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** Controls (Cc), format characters (Cf: soft hyphen, zero-width, BOM) and every Unicode space or separator (Z). */
const invisible = /[\p{Cc}\p{Cf}\p{Z}]/u;

/**
 * Judges `raw` as a callback URL. Never throws: a refusal carries a reason
 * that reads after "The callback_url …".
 */
export function checkCallbackUrl(raw: string, options: UrlGuardOptions): UrlVerdict {
  // The URL parser would drop or map these silently (spaces and controls at the ends, tabs
  // and newlines anywhere, a soft hyphen or zero-width character in a name); the URL we
  // call must be the one the client sent.
  if (invisible.test(raw)) return { ok: false, reason: "must not contain whitespace or control characters" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not an absolute URL" };
  }
  const host = canonicalHost(url);
  const loopback = isLoopbackHost(host);
  if (url.protocol !== "https:" && !(options.allowLocal && url.protocol === "http:" && loopback)) {
    return { ok: false, reason: "must use https://" };
  }
  if (url.username || url.password) return { ok: false, reason: "must not contain credentials" };
  if (url.port === "0") return { ok: false, reason: "must not name port 0" };
  if (loopback)
    return options.allowLocal ? { ok: true, url } : { ok: false, reason: "must not name a loopback address" };
  const address = parseAddress(host);
  const isPublic = !address
    ? isPublicName(host)
    : address.kind() === "ipv4"
      ? isPublicIPv4(address as ipaddr.IPv4)
      : isPublicIPv6(address as ipaddr.IPv6);
  return isPublic ? { ok: true, url } : { ok: false, reason: "must name a public address" };
}

/** The URL's host as every rule sees it: the parser's lower-case, punycode form without trailing dots or IPv6 brackets. */
function canonicalHost(url: URL): string {
  const host = url.hostname.replace(/\.+$/, "");
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

function parseAddress(host: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  // Only the parser's canonical spellings: ipaddr.js alone would also read `0x7f.1`.
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return ipaddr.IPv4.parse(host);
  return ipaddr.IPv6.isValid(host) ? ipaddr.IPv6.parse(host) : null;
}

function isLoopbackHost(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const address = parseAddress(host);
  if (!address) return false;
  // Only the mapped form means the same host; 6to4 or NAT64 of 127.0.0.1 is a remote one.
  const mapped = address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress();
  return (mapped ? (address as ipaddr.IPv6).toIPv4Address() : address).range() === "loopback";
}

/**
 * ipaddr.js's names for the IANA registry entries that are globally reachable
 * (AS112 and AMT anycast); `unicast` is everything outside the registry.
 */
const publicRanges: ReadonlySet<string> = new Set(["unicast", "as112", "amt", "as112v6"]);

function isPublicIPv4(address: ipaddr.IPv4): boolean {
  return publicRanges.has(address.range());
}

/**
 * IANA IPv6 Address Space: only 2000::/3 is allocated to global unicast; the
 * rest is reserved or special (::/8, 100::/64 discard, 100:0:0:1::/64 dummy,
 * 5f00::/16, fc00::/7, fe80::/10, fec0::/10, ff00::/8, 64:ff9b:1::/48
 * local-use NAT64, …), so it is refused as a whole.
 */
const globalUnicast = ipaddr.IPv6.parseCIDR("2000::/3");
/**
 * IPv6 Special-Purpose registry, "IETF Protocol Assignments": not globally
 * reachable. ipaddr.js calls its more specific anycast entries (AMT, AS112)
 * public; no callback receiver lives there, so the whole block is refused,
 * Teredo (2001::/32) included.
 */
const ietfProtocolAssignments = ipaddr.IPv6.parseCIDR("2001::/23");

/** IPv4 embedded in IPv6 is judged as IPv4. */
function isPublicIPv6(address: ipaddr.IPv6): boolean {
  const v4 = embeddedIPv4(address);
  if (v4) return isPublicIPv4(v4);
  return address.match(globalUnicast) && !address.match(ietfProtocolAssignments) && publicRanges.has(address.range());
}

/**
 * The IPv4 address an IPv6 address stands for, for the forms that carry one
 * at a fixed place: IPv4-mapped `::ffff:0:0/96`, IPv4-translated
 * `::ffff:0:0:0/96` (RFC 6145), the well-known NAT64 prefix `64:ff9b::/96`
 * (RFC 6052) — all in the last 32 bits — and 6to4 `2002::/16` (RFC 3056,
 * bits 16–47). Teredo needs none: its whole block is refused.
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = address.parts as [number, number, number, number, number, number, number, number];
  const fromWords = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  switch (address.range()) {
    case "ipv4Mapped":
    case "rfc6145":
      return fromWords(p[6], p[7]);
    case "rfc6052":
      return p[1] === 0xff9b && p[2] === 0 ? fromWords(p[6], p[7]) : null;
    case "6to4":
      return fromWords(p[1], p[2]);
    default:
      return null;
  }
}

/**
 * Names that never reach a public receiver: the IANA Special-Use Domain Names
 * registry's entries other than the documentation names (`example`, which
 * resolve publicly or not at all) — `localhost` (loopback, handled above),
 * `local` (RFC 6762, mDNS), `invalid` and `test` (RFC 6761), `onion` (RFC
 * 7686), `alt` (RFC 9476), `home.arpa` (RFC 8375), the reverse-mapping zones
 * `in-addr.arpa` and `ip6.arpa`, `ipv4only.arpa` (RFC 8880: resolves to
 * 192.0.0.170/171), `resolver.arpa` (RFC 9462), `service.arpa` (RFC 9665),
 * `6tisch.arpa` (RFC 9031), `eap-noob.arpa` (RFC 9140) — and ICANN's
 * private-use `internal` (2024).
 */
const localSuffixes = [
  "local",
  "invalid",
  "test",
  "onion",
  "alt",
  "internal",
  "home.arpa",
  "in-addr.arpa",
  "ip6.arpa",
  "ipv4only.arpa",
  "resolver.arpa",
  "service.arpa",
  "6tisch.arpa",
  "eap-noob.arpa",
];

function isPublicName(host: string): boolean {
  // Single-label names resolve on a local network, never on the public internet.
  if (!host.includes(".")) return false;
  return !localSuffixes.some((suffix) => host === suffix || host.endsWith(`.${suffix}`));
}
