import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config";
import { limits } from "../../src/limits";

afterEach(() => {
  vi.restoreAllMocks();
});

// API.md: a revoked key's open streams end within 60 s. A stream ends one
// interval plus one D1 read after the revocation at worst; leave the read 15 s.
describe("the API key re-check of open streams", () => {
  it("runs often enough to end a revoked key's streams within 60 s", () => {
    expect(limits.keyRecheckMs + 15_000).toBeLessThanOrEqual(60_000);
    expect(parseConfig({}).keyRecheckMs).toBe(limits.keyRecheckMs);
  });

  it("takes a test override only when it is a positive number no longer than production's", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(parseConfig({ KEY_RECHECK_MS: "200" }).keyRecheckMs).toBe(200);
    for (const value of ["0", "soon", "-5", String(limits.keyRecheckMs + 1)]) {
      expect(parseConfig({ KEY_RECHECK_MS: value }).keyRecheckMs, value).toBe(limits.keyRecheckMs);
    }
  });
});
