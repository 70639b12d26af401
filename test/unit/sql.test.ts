import { describe, expect, it } from "vitest";
import { limits } from "../../src/limits";
import { joinSql, sql, sqlFragment, sqlName, unionAll } from "../../src/store/sql";

/** What `sql(db)` handed to D1: the text it prepared and the values it bound (none: bind was not called). */
interface Prepared {
  text: string;
  values: unknown[] | null;
}

/** Records prepare and bind, the only two D1 calls `sql` makes; running the SQL is the workers tests' part. */
const recordingD1 = {
  prepare: (text: string) => ({
    text,
    values: null,
    bind: (...values: unknown[]) => ({ text, values }),
  }),
} as unknown as D1Database;

const prepared = (statement: D1PreparedStatement) => {
  const { text, values } = statement as unknown as Prepared;
  return { text, values };
};

describe("sql", () => {
  it("writes one ? per interpolated value, in order, and binds the values in that order", () => {
    const statement = sql(recordingD1)`UPDATE jobs SET status = ${"running"}, attempts = ${2} WHERE id = ${"job_1"}`;
    expect(prepared(statement)).toEqual({
      text: "UPDATE jobs SET status = ?, attempts = ? WHERE id = ?",
      values: ["running", 2, "job_1"],
    });
  });

  it("binds a value used twice twice, so no placeholder is ever numbered by hand", () => {
    const now = 1_000;
    const statement = sql(recordingD1)`UPDATE jobs SET started_at = ${now}, updated_at = ${now} WHERE id = ${"job_1"}`;
    expect(prepared(statement).values).toEqual([1_000, 1_000, "job_1"]);
  });

  it("binds null and booleans as values and never makes SQL text of a value", () => {
    const hostile = "x'; DROP TABLE jobs; --";
    const statement = sql(recordingD1)`SELECT * FROM jobs WHERE id = ${hostile} AND error_code IS ${null} AND ${true}`;
    expect(prepared(statement)).toEqual({
      text: "SELECT * FROM jobs WHERE id = ? AND error_code IS ? AND ?",
      values: [hostile, null, true],
    });
  });

  it("prepares a statement without values unbound", () => {
    expect(prepared(sql(recordingD1)`SELECT * FROM api_keys ORDER BY id DESC`)).toEqual({
      text: "SELECT * FROM api_keys ORDER BY id DESC",
      values: null,
    });
  });

  it("nests fragments with their values in the right place, however deep", () => {
    const tenant = sqlFragment`${"ten_1"}`;
    const slotFree = sqlFragment`(SELECT COUNT(*) FROM jobs WHERE tenant_id = ${tenant}) < ${50}`;
    const statement = sql(recordingD1)`UPDATE jobs SET updated_at = ${7} WHERE tenant_id = ${tenant} AND ${slotFree}
      RETURNING id`;
    expect(prepared(statement)).toEqual({
      text: `UPDATE jobs SET updated_at = ? WHERE tenant_id = ? AND (SELECT COUNT(*) FROM jobs WHERE tenant_id = ?) < ?
      RETURNING id`,
      values: [7, "ten_1", "ten_1", 50],
    });
  });

  it("joins fragments with a separator, keeping each one's values in order", () => {
    const where = joinSql([sqlFragment`tenant_id = ${"ten_1"}`, sqlFragment`status = ${"queued"}`], " AND ");
    const statement = sql(recordingD1)`SELECT * FROM jobs WHERE ${where} ORDER BY id DESC LIMIT ${20}`;
    expect(prepared(statement)).toEqual({
      text: "SELECT * FROM jobs WHERE tenant_id = ? AND status = ? ORDER BY id DESC LIMIT ?",
      values: ["ten_1", "queued", 20],
    });
  });

  it("expands a list into (?, ?, ?) for IN, and an empty one into ()", () => {
    const ids = ["job_1", "job_2", "job_3"];
    expect(prepared(sql(recordingD1)`SELECT * FROM jobs WHERE id IN ${ids} AND tenant_id = ${"ten_1"}`)).toEqual({
      text: "SELECT * FROM jobs WHERE id IN (?, ?, ?) AND tenant_id = ?",
      values: ["job_1", "job_2", "job_3", "ten_1"],
    });
    expect(prepared(sql(recordingD1)`SELECT * FROM jobs WHERE id IN ${[]}`).text).toBe(
      "SELECT * FROM jobs WHERE id IN ()",
    );
  });

  it(`binds up to D1's ${limits.d1MaxBoundParameters} values per statement and refuses one more before it reaches D1`, () => {
    const atLimit = Array.from({ length: limits.d1MaxBoundParameters }, (_, i) => i);
    expect(prepared(sql(recordingD1)`SELECT * FROM jobs WHERE version IN ${atLimit}`).values).toHaveLength(100);
    const nested = sqlFragment`version IN ${[...atLimit, 100]}`;
    expect(() => sql(recordingD1)`SELECT * FROM jobs WHERE ${nested}`).toThrow(
      /binds 101 values; D1 accepts at most 100/,
    );
  });

  it("joins selects with UNION ALL, nesting them so no compound has more terms than D1 runs", () => {
    const selects = (n: number) => Array.from({ length: n }, (_, i) => sqlFragment`SELECT ${i} AS x`);
    const terms = (text: string) => text.split(" UNION ALL ").length;
    expect(prepared(sql(recordingD1)`${unionAll(selects(5))}`)).toEqual({
      text: "SELECT ? AS x UNION ALL SELECT ? AS x UNION ALL SELECT ? AS x UNION ALL SELECT ? AS x UNION ALL SELECT ? AS x",
      values: [0, 1, 2, 3, 4],
    });
    const six = prepared(sql(recordingD1)`${unionAll(selects(6))}`);
    expect(six.text).toBe(
      "SELECT * FROM (SELECT ? AS x UNION ALL SELECT ? AS x UNION ALL SELECT ? AS x UNION ALL SELECT ? AS x UNION ALL SELECT ? AS x) UNION ALL SELECT * FROM (SELECT ? AS x)",
    );
    expect(six.values).toEqual([0, 1, 2, 3, 4, 5]);
    const most = limits.d1MaxCompoundSelectTerms;
    const outer = prepared(sql(recordingD1)`${unionAll(selects(most * most))}`).text.split(
      ") UNION ALL SELECT * FROM (",
    );
    expect(outer).toHaveLength(most);
    for (const inner of outer) expect(terms(inner)).toBe(most);
    expect(() => unionAll(selects(most * most + 1))).toThrow(RangeError);
  });

  it("writes a plain name as SQL text, and refuses anything else as a name", () => {
    const column = sqlName("run_at");
    expect(prepared(sql(recordingD1)`UPDATE jobs SET ${column} = ${5}`)).toEqual({
      text: "UPDATE jobs SET run_at = ?",
      values: [5],
    });
    for (const bad of ["run_at; DROP TABLE jobs", "Run_At", "1st", "", "a b", "x'y"]) {
      expect(() => sqlName(bad)).toThrow(TypeError);
    }
  });

  it("refuses a placeholder written into the SQL text", () => {
    expect(() => sql(recordingD1)`SELECT * FROM jobs WHERE id = ?1`).toThrow(TypeError);
    expect(() => sqlFragment`id = ?`).toThrow(/write the value as \$\{value\}/);
  });

  it("refuses an undefined value, which D1 cannot bind", () => {
    // An optional field read where a required one was meant: the types allow it.
    const change: { type?: string } = {};
    expect(
      () => sql(recordingD1)`SELECT * FROM jobs WHERE id = ${"job_1"} AND type = ${change.type as string}`,
    ).toThrow(/SQL value 2 is undefined/);
    expect(() => sql(recordingD1)`SELECT * FROM jobs WHERE id IN ${[change.type as string]}`).toThrow(TypeError);
  });
});
