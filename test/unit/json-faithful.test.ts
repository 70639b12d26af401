import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertJsonFaithful } from "../../src/api/json-faithful";
import type { DomainError } from "../../src/jobs/errors";

const check = (text: string) => assertJsonFaithful(JSON.parse(text), text);
const refusal = (text: string) => {
  try {
    check(text);
  } catch (error) {
    return error as DomainError;
  }
  return null;
};

describe("assertJsonFaithful", () => {
  it("accepts whatever JSON.stringify writes, since it reads back the same", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.double({ noNaN: true, noDefaultInfinity: true }), (value, n) => {
        expect(refusal(JSON.stringify({ value, n }))).toBeNull();
      }),
      { numRuns: 2000 },
    );
    expect(refusal("[-32813495417526550,9007199254740992,1e21,1E+300,900000000000000000000]")).toBeNull();
  });

  it.each([
    ["1e309", ""],
    ['{"a":[0,{"b":-1e400}]}', "a.1.b"],
    ['{"id":9007199254740993}', "id"],
    ['{"x":"9007199254740993","n":[18446744073709551615]}', "n.0"],
    ["[-123456789012345678901234567890]", "0"],
  ])("refuses %s naming %j", (text, path) => {
    expect(refusal(text)).toMatchObject({ status: 400, code: "validation_failed", details: [{ path }] });
  });

  it("does not mistake digits inside strings for numbers", () => {
    expect(refusal('{"s":"9007199254740993 \\" 18446744073709551615","n":9007199254740992}')).toBeNull();
  });

  it("refuses nesting deeper than the limit", () => {
    expect(refusal(`${"[".repeat(65)}${"]".repeat(65)}`)).toMatchObject({ status: 400, code: "validation_failed" });
    expect(refusal(`${"[".repeat(64)}${"]".repeat(64)}`)).toBeNull();
  });
});
