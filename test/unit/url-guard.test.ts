import { describe, expect, it } from "vitest";
import { checkCallbackUrl } from "../../src/webhooks/url-guard";

const production = { allowLocal: false };
const local = { allowLocal: true };
const verdict = (host: string) => checkCallbackUrl(`https://${host}/hooks`, production).ok;

/**
 * One row per entry of a registry: its name and prefix as IANA lists it, a
 * sample address inside (judged `refused` unless the entry is globally
 * reachable and we call it), and where one exists, a public address just
 * outside that must be accepted.
 */
interface RegistryEntry {
  name: string;
  prefix: string;
  inside: string[];
  accepted?: boolean;
  outside?: string[];
}

// IANA IPv4 Special-Purpose Address Registry (RFC 6890), plus multicast (its own registry).
const ipv4Registry: RegistryEntry[] = [
  { name: "This network", prefix: "0.0.0.0/8", inside: ["0.1.2.3", "0.255.255.255"], outside: ["1.0.0.1"] },
  { name: "This host on this network", prefix: "0.0.0.0/32", inside: ["0.0.0.0"] },
  {
    name: "Private-Use",
    prefix: "10.0.0.0/8",
    inside: ["10.0.0.1", "10.255.255.255"],
    outside: ["11.0.0.1", "9.255.255.254"],
  },
  {
    name: "Shared Address Space",
    prefix: "100.64.0.0/10",
    inside: ["100.64.0.1", "100.127.255.255"],
    outside: ["100.63.255.254", "100.128.0.1"],
  },
  { name: "Loopback", prefix: "127.0.0.0/8", inside: ["127.0.0.1", "127.1.2.3"], outside: ["128.0.0.1"] },
  {
    name: "Link Local",
    prefix: "169.254.0.0/16",
    inside: ["169.254.169.254"],
    outside: ["169.255.0.1", "169.253.255.254"],
  },
  {
    name: "Private-Use",
    prefix: "172.16.0.0/12",
    inside: ["172.16.0.1", "172.31.255.255"],
    outside: ["172.15.255.254", "172.32.0.1"],
  },
  {
    name: "IETF Protocol Assignments",
    prefix: "192.0.0.0/24",
    inside: ["192.0.0.1", "192.0.0.255"],
    outside: ["192.0.1.1"],
  },
  { name: "IPv4 Service Continuity Prefix", prefix: "192.0.0.0/29", inside: ["192.0.0.2"] },
  { name: "IPv4 dummy address", prefix: "192.0.0.8/32", inside: ["192.0.0.8"] },
  // Globally reachable anycast in the registry, but refused with their /24: no receiver lives there.
  { name: "Port Control Protocol Anycast", prefix: "192.0.0.9/32", inside: ["192.0.0.9"] },
  { name: "Traversal Using Relays around NAT Anycast", prefix: "192.0.0.10/32", inside: ["192.0.0.10"] },
  { name: "NAT64/DNS64 Discovery", prefix: "192.0.0.170/32, 192.0.0.171/32", inside: ["192.0.0.170", "192.0.0.171"] },
  { name: "Documentation (TEST-NET-1)", prefix: "192.0.2.0/24", inside: ["192.0.2.1"], outside: ["192.0.3.1"] },
  { name: "AS112-v4", prefix: "192.31.196.0/24", inside: ["192.31.196.1"], accepted: true },
  { name: "AMT", prefix: "192.52.193.0/24", inside: ["192.52.193.1"], accepted: true },
  {
    name: "Deprecated (6to4 Relay Anycast)",
    prefix: "192.88.99.0/24",
    inside: ["192.88.99.1"],
    outside: ["192.88.100.1"],
  },
  { name: "6a44-relay anycast address", prefix: "192.88.99.2/32", inside: ["192.88.99.2"] },
  {
    name: "Private-Use",
    prefix: "192.168.0.0/16",
    inside: ["192.168.1.1"],
    outside: ["192.169.0.1", "192.167.255.254"],
  },
  { name: "Direct Delegation AS112 Service", prefix: "192.175.48.0/24", inside: ["192.175.48.1"], accepted: true },
  {
    name: "Benchmarking",
    prefix: "198.18.0.0/15",
    inside: ["198.18.0.1", "198.19.255.255"],
    outside: ["198.17.255.254", "198.20.0.1"],
  },
  {
    name: "Documentation (TEST-NET-2)",
    prefix: "198.51.100.0/24",
    inside: ["198.51.100.1"],
    outside: ["198.51.101.1"],
  },
  { name: "Documentation (TEST-NET-3)", prefix: "203.0.113.0/24", inside: ["203.0.113.1"], outside: ["203.0.114.1"] },
  { name: "Reserved", prefix: "240.0.0.0/4", inside: ["240.0.0.1", "254.255.255.255"] },
  { name: "Limited Broadcast", prefix: "255.255.255.255/32", inside: ["255.255.255.255"] },
  {
    name: "Multicast (IPv4 Multicast Address Space)",
    prefix: "224.0.0.0/4",
    inside: ["224.0.0.1", "239.255.255.255"],
    outside: ["223.255.255.254"],
  },
];

// IANA IPv6 Special-Purpose Address Registry (RFC 6890), plus address-space entries outside it.
const ipv6Registry: RegistryEntry[] = [
  { name: "Loopback Address", prefix: "::1/128", inside: ["[::1]"] },
  { name: "Unspecified Address", prefix: "::/128", inside: ["[::]"] },
  {
    name: "IPv4-mapped Address",
    prefix: "::ffff:0:0/96",
    inside: ["[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:198.51.100.1]"],
    outside: ["[::ffff:8.8.8.8]"], // judged by the IPv4 address it carries
  },
  {
    name: "IPv4-IPv6 Translat.",
    prefix: "64:ff9b::/96",
    inside: ["[64:ff9b::a00:1]", "[64:ff9b::127.0.0.1]", "[64:ff9b::192.0.2.1]"],
    outside: ["[64:ff9b::8.8.8.8]"],
  },
  { name: "IPv4-IPv6 Translat. (local use)", prefix: "64:ff9b:1::/48", inside: ["[64:ff9b:1::808:808]"] },
  { name: "Discard-Only Address Block", prefix: "100::/64", inside: ["[100::1]"] },
  { name: "Dummy IPv6 Prefix", prefix: "100:0:0:1::/64", inside: ["[100:0:0:1::1]"] },
  {
    name: "IETF Protocol Assignments",
    prefix: "2001::/23",
    inside: ["[2001:1ff:ffff::1]", "[2001:100::1]"],
    outside: ["[2001:200::1]"],
  },
  // Teredo's client address (last 32 bits XOR 0xffffffff) is 8.8.8.8 here: refused with its block all the same.
  { name: "TEREDO", prefix: "2001::/32", inside: ["[2001::1]", "[2001:0:4136:e378:8000:63bf:f7f7:f7f7]"] },
  { name: "Port Control Protocol Anycast", prefix: "2001:1::1/128", inside: ["[2001:1::1]"] },
  { name: "Traversal Using Relays around NAT Anycast", prefix: "2001:1::2/128", inside: ["[2001:1::2]"] },
  { name: "DNS-SD Service Registration Protocol Anycast", prefix: "2001:1::3/128", inside: ["[2001:1::3]"] },
  { name: "Benchmarking", prefix: "2001:2::/48", inside: ["[2001:2::1]"] },
  { name: "AMT", prefix: "2001:3::/32", inside: ["[2001:3::1]"] },
  { name: "AS112-v6", prefix: "2001:4:112::/48", inside: ["[2001:4:112::1]"] },
  { name: "Deprecated (previously ORCHID)", prefix: "2001:10::/28", inside: ["[2001:10::1]"] },
  { name: "ORCHIDv2", prefix: "2001:20::/28", inside: ["[2001:20::1]"] },
  { name: "Drone Remote ID Protocol Entity Tags (DETs) Prefix", prefix: "2001:30::/28", inside: ["[2001:30::1]"] },
  { name: "Documentation", prefix: "2001:db8::/32", inside: ["[2001:db8::1]"], outside: ["[2001:db9::1]"] },
  {
    name: "6to4",
    prefix: "2002::/16",
    inside: ["[2002:7f00:1::]", "[2002:a00:1::1]", "[2002:c000:201::1]", "[2002:a9fe:a9fe::1]"],
    outside: ["[2002:808:808::1]"], // judged by the IPv4 address it carries (8.8.8.8)
  },
  {
    name: "Direct Delegation AS112 Service",
    prefix: "2620:4f:8000::/48",
    inside: ["[2620:4f:8000::1]"],
    accepted: true,
  },
  { name: "Documentation", prefix: "3fff::/20", inside: ["[3fff::1]", "[3fff:fff:ffff::1]"] },
  { name: "Segment Routing (SRv6) SIDs", prefix: "5f00::/16", inside: ["[5f00::1]"] },
  { name: "Unique-Local", prefix: "fc00::/7", inside: ["[fc00::1]", "[fd12:3456::1]"] },
  { name: "Link-Local Unicast", prefix: "fe80::/10", inside: ["[fe80::1]", "[febf::1]"] },
  { name: "Site-Local (deprecated, RFC 3879)", prefix: "fec0::/10", inside: ["[fec0::1]"] },
  { name: "Multicast (IPv6 Multicast Address Space)", prefix: "ff00::/8", inside: ["[ff02::1]", "[ff0e::1]"] },
  { name: "IPv4-compatible (deprecated, RFC 4291)", prefix: "::/96", inside: ["[::127.0.0.1]", "[::8.8.8.8]"] },
  {
    name: "IPv4-translated (RFC 6145)",
    prefix: "::ffff:0:0:0/96",
    inside: ["[::ffff:0:127.0.0.1]", "[::ffff:0:10.0.0.1]"],
  },
  {
    name: "Reserved by IETF (IPv6 Address Space)",
    prefix: "4000::/3 and the rest outside 2000::/3",
    inside: ["[4000::1]", "[e000::1]"],
  },
];

describe("checkCallbackUrl", () => {
  it("accepts public https URLs", () => {
    for (const url of [
      "https://client.example/hooks/jobs",
      "https://93.184.216.34/x",
      "https://[2606:4700::1111]/",
      "https://[2a00:1450:4001:80b::200e]/",
      "https://bücher.example/", // IDNA: xn--bcher-kva.example
    ]) {
      expect(checkCallbackUrl(url, production), url).toMatchObject({ ok: true });
    }
  });

  for (const [registry, entries] of [
    ["IPv4", ipv4Registry],
    ["IPv6", ipv6Registry],
  ] as const) {
    describe(`every entry of the IANA ${registry} special-purpose registry`, () => {
      for (const entry of entries) {
        it(`${entry.accepted ? "accepts" : "refuses"} ${entry.name} (${entry.prefix})`, () => {
          for (const host of entry.inside) expect(verdict(host), host).toBe(entry.accepted ?? false);
          for (const host of entry.outside ?? []) expect(verdict(host), `${host} is public`).toBe(true);
        });
      }
    });
  }

  describe("judges the canonical host", () => {
    const sameAsWithoutDot = [
      "https://metadata.google.internal/computeMetadata/v1/",
      "https://localhost/x",
      "https://intranet/",
      "https://printer.local/",
      "https://router.home.arpa/",
      "https://api.localhost/",
      "https://127.0.0.1/",
      "https://10.0.0.1/",
    ];
    for (const url of sameAsWithoutDot) {
      const { hostname } = new URL(url);
      it(`refuses ${hostname} with trailing dots as without`, () => {
        expect(checkCallbackUrl(url, production)).toMatchObject({ ok: false });
        for (const dots of [".", ".."]) {
          const dotted = url.replace(hostname, `${hostname}${dots}`);
          expect(checkCallbackUrl(dotted, production), dotted).toMatchObject({ ok: false });
        }
      });
    }

    it("refuses upper-case and IDNA spellings of local names", () => {
      for (const url of [
        "https://LOCALHOST/",
        "https://Printer.LOCAL./",
        "https://METADATA.GOOGLE.INTERNAL./",
        "https://ｌｏｃａｌｈｏｓｔ/", // full-width letters map to "localhost"
        "https://printer.ｌｏｃａｌ/",
        "https://bücher.local/",
        "https://１２７.０.０.１/", // full-width digits map to 127.0.0.1
        "https://[::FFFF:7F00:1]/",
      ]) {
        expect(checkCallbackUrl(url, production), url).toMatchObject({ ok: false });
      }
    });

    it("refuses surrounding or inner whitespace and control characters instead of trimming them", () => {
      for (const url of [
        " https://client.example/hooks",
        "https://client.example/hooks ",
        "https://client.example/ho\toks",
        "https://client.example/hooks\n",
        "\u0000https://client.example/",
      ]) {
        expect(checkCallbackUrl(url, production), JSON.stringify(url)).toMatchObject({ ok: false });
      }
    });

    it("refuses Unicode spaces, separators and invisible characters the parser would drop or map", () => {
      for (const url of [
        "https://client.example/\u00a0", // no-break space
        "https://client.example/\u2028", // line separator
        "https://client.example/\u0085", // next line (C1 control)
        "\u3000https://client.example/", // ideographic space
        "https://cli\u00adent.example/", // soft hyphen: the parser calls client.example
        "https://cli\u200bent.example/", // zero-width space
        "\ufeffhttps://client.example/", // byte order mark
      ]) {
        expect(checkCallbackUrl(url, production), JSON.stringify(url)).toMatchObject({ ok: false });
      }
    });

    it("refuses every special-use name of the IANA registry that never reaches a public receiver", () => {
      for (const url of [
        "https://x.test/",
        "https://x.invalid/",
        "https://duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion/",
        "https://x.alt/",
        "https://ipv4only.arpa/",
        "https://1.0.0.127.in-addr.arpa/",
        "https://1.0.0.0.ip6.arpa/",
        "https://resolver.arpa/",
        "https://x.service.arpa/",
        "https://x.6tisch.arpa/",
        "https://x.eap-noob.arpa/",
      ]) {
        expect(checkCallbackUrl(url, production), url).toMatchObject({
          ok: false,
          reason: "must name a public address",
        });
      }
      // Names that merely end alike are ordinary public names.
      for (const url of ["https://contest/", "https://my.contest.com/", "https://salt.example.com/"]) {
        const verdict = checkCallbackUrl(url, production);
        expect(verdict.ok, url).toBe(!url.startsWith("https://contest/"));
      }
    });

    it("refuses port 0, which no receiver listens on", () => {
      expect(checkCallbackUrl("https://client.example:0/", production)).toMatchObject({ ok: false });
      expect(checkCallbackUrl("https://client.example:00/", production)).toMatchObject({ ok: false });
      expect(checkCallbackUrl("https://client.example:8443/", production)).toMatchObject({ ok: true });
    });
  });

  const rejected = [
    "http://client.example/hooks",
    "ftp://client.example/",
    "not a url",
    "https://user:pass@client.example/",
    "https://user@client.example/",
    "https://2130706433/", // decimal 127.0.0.1
    "https://0x7f000001/", // hex
    "https://0177.0.0.1/", // octal
    "https://0x7f.1/",
    "https://./",
  ];
  for (const url of rejected) {
    it(`rejects ${url}`, () => {
      expect(checkCallbackUrl(url, production)).toMatchObject({ ok: false });
    });
  }

  it("allows http:// and loopback in local development, and nothing else", () => {
    for (const url of [
      "http://127.0.0.1:8788/hooks",
      "http://localhost:3000/",
      "http://localhost.:3000/",
      "http://[::1]:9000/",
      "http://[::ffff:127.0.0.1]:9000/",
      "https://127.0.0.1/",
    ]) {
      expect(checkCallbackUrl(url, local), url).toMatchObject({ ok: true });
    }
    for (const url of [
      "http://client.example/",
      "http://10.0.0.1/",
      "https://169.254.169.254/",
      "http://u:p@127.0.0.1/",
      "http://[2002:7f00:1::]/", // 6to4 of loopback is a remote host
      "http://[64:ff9b::127.0.0.1]/",
      "https://printer.local./",
    ]) {
      expect(checkCallbackUrl(url, local), url).toMatchObject({ ok: false });
    }
  });
});
