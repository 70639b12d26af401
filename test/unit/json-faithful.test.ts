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
    ['{"a":9007199254740993.0}', "a"],
    ['{"a":9007199254740993e0}', "a"],
    ['{"a":90071992547409930e-1}', "a"],
    ['{"a":9.007199254740993e15}', "a"],
    ['{"a":-9007199254740993.000}', "a"],
    ['{"a":[1e-400]}', "a.0"],
    ['{"a":2e-324}', "a"],
    [`{"a":0.${"0".repeat(330)}1}`, "a"],
    // The zeros after the point and the exponent together (breaker, 2026-12-01: these were stored as 0).
    [`{"tiny":0.${"0".repeat(250)}1e-100}`, "tiny"],
    [`{"m":[0,0.${"0".repeat(299)}1e-30]}`, "m.1"],
    [`{"a":-0.${"0".repeat(200)}5E-00200}`, "a"],
  ])("refuses %s naming %j", (text, path) => {
    expect(refusal(text)).toMatchObject({ status: 400, code: "validation_failed", details: [{ path }] });
  });

  // The pre-check of e4a009f rescanned a run of digits from each digit: 100,000 digits took 4 s, 1 MiB minutes.
  it("checks long runs of digits (in strings, or a number's) within the test's timeout, not in quadratic time", () => {
    const digits = "1".repeat(400_000);
    for (const text of [
      `{"n":0,"s":"${digits}"}`,
      `{"n":0,"s":"1.${"0".repeat(400_000)}x"}`,
      `[0,1.${"0".repeat(400_000)}1e-5]`,
    ]) {
      expect(refusal(text)).toBeNull();
    }
  });

  it("accepts whatever JSON.stringify writes when the syntax tree is walked too", () => {
    // 2^53 is not a safe integer, so the text is parsed again; any string, lone surrogates included.
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "binary" }), (value) => {
        expect(refusal(JSON.stringify({ value, big: 9007199254740992 }))).toBeNull();
        expect(refusal(JSON.stringify({ value, big: 9007199254740992 }, null, 2))).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['{"a":1,"a":2}', "a"],
    ['{"a":1,"\\u0061":2}', "a"],
    ['{"__proto__":1 , "__proto__" :{"x":1}}', "__proto__"],
    ['[{"x":[{"b":{"c":1,"d":{"e":true,"e":false}}}]}]', "0.x.0.b.d.e"],
    ['{"s":"\\":","t":{"": 1, "":2}}', "t."],
    ['{"a":{"b":1},"a":{"b":1}}', "a"],
  ])("refuses the repeated name in %s naming %j", (text, path) => {
    expect(refusal(text)).toMatchObject({ status: 400, code: "validation_failed", details: [{ path }] });
  });

  it("accepts the same name in different objects, and names that only look like repeats", () => {
    expect(refusal('{"a":{"a":1},"b":[{"a":1},{"a":2}],"A":1,"a ":2,"\\"a":3,"s":"a\\":"}')).toBeNull();
  });

  it("accepts integers beyond 2^53 spelt any way when the double holds them exactly, fractions, and zeros", () => {
    expect(
      refusal(
        '{"a":9007199254740992.0,"b":9.007199254740992e15,"c":1.5e300,"d":9007199254740993.5,"e":[0,0.0,-0,0e-400,0.000e-999]}',
      ),
    ).toBeNull();
    expect(refusal('{"a":5e-324,"b":1e-300,"z":0}')).toBeNull();
  });

  it("does not mistake digits inside strings for numbers", () => {
    expect(refusal('{"s":"9007199254740993 \\" 18446744073709551615","n":9007199254740992}')).toBeNull();
  });

  it("refuses nesting deeper than the limit", () => {
    expect(refusal(`${"[".repeat(65)}${"]".repeat(65)}`)).toMatchObject({ status: 400, code: "validation_failed" });
    expect(refusal(`${"[".repeat(64)}${"]".repeat(64)}`)).toBeNull();
  });
});
