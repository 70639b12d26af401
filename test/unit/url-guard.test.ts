import { describe, expect, it } from "vitest";
import { checkCallbackUrl } from "../../src/webhooks/url-guard";

const production = { allowLocal: false };
const local = { allowLocal: true };

describe("checkCallbackUrl", () => {
  it("accepts public https URLs", () => {
    for (const url of ["https://client.example/hooks/jobs", "https://93.184.216.34/x", "https://[2606:4700::1111]/"]) {
      expect(checkCallbackUrl(url, production), url).toMatchObject({ ok: true });
    }
  });

  const rejected = [
    "http://client.example/hooks",
    "ftp://client.example/",
    "not a url",
    "https://user:pass@client.example/",
    "https://user@client.example/",
    "https://localhost/",
    "https://api.localhost/",
    "https://127.0.0.1/",
    "https://127.1.2.3/",
    "https://2130706433/", // decimal 127.0.0.1
    "https://0x7f000001/", // hex
    "https://0177.0.0.1/", // octal
    "https://0x7f.1/",
    "https://[::1]/",
    "https://[::]/",
    "https://0.0.0.0/",
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/", // CGNAT
    "https://100.127.255.255/",
    "https://224.0.0.1/", // multicast
    "https://255.255.255.255/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1]/",
    "https://[ff02::1]/",
    "https://[::ffff:127.0.0.1]/", // IPv4-mapped
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[64:ff9b::a00:1]/", // NAT64 of 10.0.0.1
    "https://intranet/",
    "https://printer.local/",
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
      "http://[::1]:9000/",
      "https://127.0.0.1/",
    ]) {
      expect(checkCallbackUrl(url, local), url).toMatchObject({ ok: true });
    }
    for (const url of [
      "http://client.example/",
      "http://10.0.0.1/",
      "https://169.254.169.254/",
      "http://u:p@127.0.0.1/",
    ]) {
      expect(checkCallbackUrl(url, local), url).toMatchObject({ ok: false });
    }
  });
});
