import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { limits } from "../../src/limits";
import { keyRecheckMs } from "../../src/tenants/key-liveness";

// API.md: a revoked key's open streams end within 60 s. A stream ends one
// interval plus one D1 read after the revocation at worst; leave the read 15 s.
describe("the API key re-check of open streams", () => {
  it("runs often enough to end a revoked key's streams within 60 s", () => {
    expect(limits.keyRecheckMs + 15_000).toBeLessThanOrEqual(60_000);
    expect(keyRecheckMs({} as Env)).toBe(limits.keyRecheckMs);
  });

  it("takes a test override only when it is a positive number", () => {
    expect(keyRecheckMs({ KEY_RECHECK_MS: "200" } as Env)).toBe(200);
    expect(keyRecheckMs({ KEY_RECHECK_MS: "0" } as Env)).toBe(limits.keyRecheckMs);
    expect(keyRecheckMs({ KEY_RECHECK_MS: "soon" } as Env)).toBe(limits.keyRecheckMs);
  });
});
