import { DomainError } from "../jobs/errors";
import { limits } from "../limits";

/**
 * Checks that a parsed JSON body is what the client sent, so nothing is
 * silently changed on the way in (API.md "POST /v1/jobs"): it is nested at
 * most `limits.maxJsonDepth` deep, and every number survives parsing — a
 * literal beyond the double range (`1e309`) becomes ±Infinity and an integer
 * literal beyond ±2^53 may come back as another integer (`9007199254740993`
 * is stored as …992). Either answers 400 `validation_failed` naming the
 * path. Fractions are left as JSON.parse reads them (the nearest double).
 *
 * `text` is the body `value` was parsed from. The walk is iterative, so a
 * hostile body cannot exhaust the stack; the text is only scanned when the
 * value holds an integer beyond ±2^53.
 */
export function assertJsonFaithful(value: unknown, text: string): void {
  const unsafe: Visit[] = [];
  const stack: Visit[] = [{ node: value, depth: 1, parent: null, key: "" }];
  while (stack.length > 0) {
    const visit = stack.pop() as Visit;
    const { node, depth } = visit;
    if (typeof node === "number") {
      if (!Number.isFinite(node)) throw changedNumber(visit, "is beyond the range of a JSON number (a double)");
      if (Number.isInteger(node) && !Number.isSafeInteger(node)) unsafe.push(visit);
      continue;
    }
    if (node === null || typeof node !== "object") continue;
    if (depth > limits.maxJsonDepth) {
      throw new DomainError(400, "validation_failed", `The JSON is nested deeper than ${limits.maxJsonDepth} levels.`);
    }
    // Object.entries keeps a `__proto__` key: JSON.parse makes it an own property.
    for (const [key, child] of Object.entries(node)) stack.push({ node: child, depth: depth + 1, parent: visit, key });
  }
  if (unsafe.length === 0) return;
  const rounded = roundedIntegerLiterals(text);
  const hit = unsafe.find((visit) => rounded.has(visit.node as number));
  if (hit) {
    throw changedNumber(
      hit,
      `is the integer ${rounded.get(hit.node as number)}, which a JSON number (a double) cannot hold exactly; send it as a string`,
    );
  }
}

interface Visit {
  node: unknown;
  depth: number;
  parent: Visit | null;
  key: string;
}

function changedNumber(visit: Visit, problem: string): DomainError {
  const keys: string[] = [];
  for (let v: Visit | null = visit; v?.parent; v = v.parent) keys.unshift(v.key);
  const path = keys.join(".");
  return new DomainError(400, "validation_failed", `The number at ${path || "the top level"} ${problem}.`, [
    { path, message: `The number ${problem}.` },
  ]);
}

/** A JSON string (skipped) or a JSON number, in a text that JSON.parse accepted. */
const token = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
/** Up to 15 digits every integer is exact; only longer literals need a look. */
const plainLongInteger = /^-?\d{16,}$/;

/**
 * The integer literals in `text` that would come back as another integer,
 * keyed by the double they became. The test is what is written back, not
 * the double's exact value: `32813495417526550` (JSON.stringify's own
 * output for a double) comes back as sent, `9007199254740993` does not.
 */
function roundedIntegerLiterals(text: string): Map<number, string> {
  const rounded = new Map<number, string>();
  for (const [literal] of text.matchAll(token)) {
    if (!plainLongInteger.test(literal)) continue;
    const parsed = Number(literal);
    if (literal.replace("-", "") !== writtenDigits(parsed)) rounded.set(parsed, literal);
  }
  return rounded;
}

/** The digits JSON.stringify writes for an integer-valued double, with its exponent (`1e+21`) spelt out. */
function writtenDigits(integer: number): string {
  const written = String(Math.abs(integer));
  const exponential = /^(\d)(?:\.(\d+))?e\+(\d+)$/.exec(written);
  if (!exponential) return written;
  const [, lead, fraction = "", exponent] = exponential;
  return `${lead}${fraction}`.padEnd(Number(exponent) + 1, "0");
}
