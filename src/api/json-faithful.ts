import { type AnyNode, parse as parseJsonAst } from "@humanwhocodes/momoa";
import { DomainError } from "../jobs/errors";
import { limits } from "../limits";

/**
 * Checks that a parsed JSON body is what the client sent, so nothing is
 * silently changed or dropped on the way in (API.md "POST /v1/jobs"): it is
 * nested at most `limits.maxJsonDepth` deep, no object repeats a name
 * (RFC 7493 §2.3; JSON.parse keeps only the last, `{"a":1,"a":2}` would be
 * stored as `{"a":2}`; names are compared decoded, so `"\u0061"` is `"a"`),
 * and every number survives parsing — a literal beyond the double range
 * (`1e309`) becomes ±Infinity, one too small for it (`1e-400`) becomes 0,
 * and an integer literal beyond ±2^53, however spelt (`9007199254740993`,
 * `9007199254740993.0`), may come back as another integer (…992). Each
 * answers 400 `validation_failed` naming the path. Fractions are left as
 * JSON.parse reads them (the nearest double), and `-0` is written back as
 * `0`, the same JSON value.
 *
 * `text` is the body `value` was parsed from. The walk over `value` is
 * iterative, so a hostile body cannot exhaust the stack. The text is parsed
 * again, into a syntax tree, only when that walk cannot settle it: when the
 * text has more member names than `value` has keys (a repeated name), or
 * when `value` holds an integer beyond ±2^53 and the text a 16-digit
 * literal. That parse costs 15–40× JSON.parse (~0.2 ms for 1 KB, ~300 ms
 * for 1 MiB in Node), so bodies that need neither skip it; the count that
 * decides costs ~0.005 ms for 1 KB and ~6–8 ms for 1 MiB.
 *
 * @throws DomainError 400 `validation_failed`, with one detail naming the path.
 */
export function assertJsonFaithful(value: unknown, text: string): void {
  const { keys, unsafeInteger, zero } = walkValue(value);
  const mayHoldRoundedInteger = unsafeInteger && sixteenDigits.test(text);
  const mayHoldUnderflow = zero && mayHoldTinyLiteral(text);
  if (mayHoldRoundedInteger || mayHoldUnderflow || memberNameCount(text) > keys) walkSyntax(text);
}

/**
 * Only an integer literal of 16 significant digits or more (however spelt:
 * `9007199254740993`, `9007199254740993.0`, `9.007199254740993e15`) can
 * come back as another integer: without such a run of digits in the text,
 * a large double (`6.02e23`) needs no second look.
 */
const sixteenDigits = /\d(?:\.?\d){15}/;

/**
 * Whether `text` may hold a literal too small for a double, read as 0: one
 * whose value is below 1e-300, from its exponent and the zeros that lead its
 * digits together (`1e-400`, `0.000…0001` with 300 zeros, and
 * `0.<250 zeros>1e-100` alike). The smallest double is about 4.9e-324, so
 * the margin only sends a few harmless bodies to the syntax walk.
 */
function mayHoldTinyLiteral(text: string): boolean {
  if (manyZerosAfterPoint.test(text)) return true;
  for (const [, zeros = "", exponent = "0"] of text.matchAll(negativeExponent)) {
    if (zeros.length + Number(exponent) >= 300) return true;
  }
  return false;
}

const manyZerosAfterPoint = /\.0{300}/;
/**
 * A literal with a negative exponent: the zeros after its point (if any),
 * and the exponent's digits. It matches only from where a run of digits
 * starts, and every part has one way to match (zeros, then a nonzero digit
 * and any digits), so a long run of digits costs linear time: a pattern
 * free to start anywhere in a run, or to split zeros two ways, rescans the
 * run from each digit (quadratic: minutes of CPU for 1 MiB of digits).
 */
const negativeExponent = /(?<![\d.])\d+(?:\.(0*)(?:[1-9]\d*)?)?[eE]-(\d+)/g;

/** A node reached by a walk, with how it was reached, to name its path. */
interface Visit<T> {
  node: T;
  depth: number;
  parent: Visit<T> | null;
  key: string;
}

/**
 * Walks the parsed value: refuses nesting beyond the limit and non-finite
 * numbers, and answers how many object keys it holds and whether any
 * integer is beyond ±2^53 (which only the text can tell apart).
 */
function walkValue(value: unknown): { keys: number; unsafeInteger: boolean; zero: boolean } {
  let keys = 0;
  let unsafeInteger = false;
  let zero = false;
  const stack: Visit<unknown>[] = [{ node: value, depth: 1, parent: null, key: "" }];
  while (stack.length > 0) {
    const visit = stack.pop() as Visit<unknown>;
    const { node, depth } = visit;
    if (typeof node === "number") {
      if (!Number.isFinite(node)) throw changedNumber(visit, "is beyond the range of a JSON number (a double)");
      if (Number.isInteger(node) && !Number.isSafeInteger(node)) unsafeInteger = true;
      if (node === 0) zero = true;
      continue;
    }
    if (node === null || typeof node !== "object") continue;
    if (depth > limits.maxJsonDepth) {
      throw new DomainError(400, "validation_failed", `The JSON is nested deeper than ${limits.maxJsonDepth} levels.`);
    }
    // Object.entries keeps a `__proto__` key: JSON.parse makes it an own property.
    const entries = Object.entries(node);
    if (!Array.isArray(node)) keys += entries.length;
    for (const [key, child] of entries) stack.push({ node: child, depth: depth + 1, parent: visit, key });
  }
  return { keys, unsafeInteger, zero };
}

/**
 * A quote followed by a colon. Every member name ends so, and a match holds
 * one quote, so none is missed. A string adds one more only where it starts
 * with `:` or holds an escaped quote before a colon (`\":`, as JSON text sent
 * as a string does): a surplus that merely sends the body to the syntax walk.
 */
const memberNameEnd = /"\s*:/g;

/** At least how many member names `text` holds; costs about half of what JSON.parse does. */
function memberNameCount(text: string): number {
  return text.match(memberNameEnd)?.length ?? 0;
}

/**
 * Parses `text` into a syntax tree and walks it in document order, refusing
 * the first repeated member name and the first integer literal that would
 * come back as another integer. Only called once walkValue has bounded the
 * depth, so the parser's recursion is bounded too.
 */
function walkSyntax(text: string): void {
  const stack: Visit<AnyNode>[] = [
    { node: parseJsonAst(text, { mode: "json" }).body, depth: 1, parent: null, key: "" },
  ];
  while (stack.length > 0) {
    const visit = stack.pop() as Visit<AnyNode>;
    const { node, depth } = visit;
    const children: Visit<AnyNode>[] = [];
    if (node.type === "Number") {
      const literal = text.slice(node.loc.start.offset, node.loc.end.offset);
      const integer = Number.isSafeInteger(node.value) ? null : integerDigits(literal);
      if (integer !== null && integer !== writtenDigits(node.value)) {
        throw changedNumber(
          visit,
          `is the integer ${literal}, which a JSON number (a double) cannot hold exactly; send it as a string`,
        );
      }
      if (node.value === 0 && /[1-9]/.test(literal.split(/[eE]/)[0] as string)) {
        throw changedNumber(visit, `${literal} is too small for a JSON number (a double), which would read it as 0`);
      }
    } else if (node.type === "Object") {
      const seen = new Set<string>();
      for (const { name, value } of node.members) {
        // In JSON mode a name is always a string; an identifier is JSON5 only.
        const key = name.type === "String" ? name.value : name.name;
        const child = { node: value, depth: depth + 1, parent: visit, key };
        if (seen.has(key)) throw repeatedName(child);
        seen.add(key);
        children.push(child);
      }
    } else if (node.type === "Array") {
      node.elements.forEach(({ value }, index) => {
        children.push({ node: value, depth: depth + 1, parent: visit, key: String(index) });
      });
    }
    // Pushed last first, so they are popped in document order (one by one:
    // spreading the ~520,000 elements a 1 MiB array holds can overflow V8's stack).
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Visit<AnyNode>);
  }
}

/**
 * The digits of the integer a number literal stands for, however spelt
 * (`9007199254740993.0` and `90071992547409930e-1` are `9007199254740993`),
 * without sign or leading zeros; null when it is not an integer (a fraction
 * is read as the nearest double, by design). Only called for literals whose
 * value is a finite double beyond ±2^53, so the exponent is small.
 */
function integerDigits(literal: string): string | null {
  const [, whole = "", fraction = "", exponent = "0"] = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal) ?? [];
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  if (point <= 0) return null;
  if (point < digits.length && /[1-9]/.test(digits.slice(point))) return null;
  return (point < digits.length ? digits.slice(0, point) : digits.padEnd(point, "0")).replace(/^0+(?=\d)/, "");
}

/**
 * The digits JSON.stringify writes for an integer-valued double, with its
 * exponent (`1e+21`) spelt out. The test is what is written back, not the
 * double's exact value: `32813495417526550` (JSON.stringify's own output
 * for a double) comes back as sent, `9007199254740993` does not.
 */
function writtenDigits(integer: number): string {
  const written = String(Math.abs(integer));
  const exponential = /^(\d)(?:\.(\d+))?e\+(\d+)$/.exec(written);
  if (!exponential) return written;
  const [, lead, fraction = "", exponent] = exponential;
  return `${lead}${fraction}`.padEnd(Number(exponent) + 1, "0");
}

function pathOf(visit: Visit<unknown>): string {
  const keys: string[] = [];
  for (let v: Visit<unknown> | null = visit; v?.parent; v = v.parent) keys.unshift(v.key);
  return keys.join(".");
}

function changedNumber(visit: Visit<unknown>, problem: string): DomainError {
  const path = pathOf(visit);
  return new DomainError(400, "validation_failed", `The number at ${path || "the top level"} ${problem}.`, [
    { path, message: `The number ${problem}.` },
  ]);
}

function repeatedName(visit: Visit<unknown>): DomainError {
  const path = pathOf(visit);
  const problem = `The name ${JSON.stringify(visit.key)} appears more than once in its object; JSON.parse would keep only the last`;
  return new DomainError(400, "validation_failed", `${problem} (at ${path}).`, [{ path, message: `${problem}.` }]);
}
