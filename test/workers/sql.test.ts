import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limits } from "../../src/limits";
import { joinSql, sql, sqlFragment } from "../../src/store/sql";

describe("sql against D1", () => {
  it("binds nested fragments, repeated values and IN lists where D1 reads them", async () => {
    const tenant = sqlFragment`${"ten_a"}`;
    const conditions = joinSql([sqlFragment`${tenant} = ${"ten_a"}`, sqlFragment`${3} IN ${[1, 2, 3]}`], " AND ");
    const row = await sql(env.DB)`SELECT ${tenant} AS tenant, ${"x"} || ${tenant} AS joined, ${null} IS NULL AS empty
      WHERE ${conditions}`.first();
    expect(row).toEqual({ tenant: "ten_a", joined: "xten_a", empty: 1 });
  });

  it("reads an empty IN list as the empty set", async () => {
    const { results } = await sql(env.DB)`SELECT 1 AS one WHERE ${1} IN ${[]}`.all();
    expect(results).toEqual([]);
  });

  it(`refuses what D1 refuses: more than ${limits.d1MaxBoundParameters} values, before D1 sees it`, async () => {
    const atLimit = Array.from({ length: limits.d1MaxBoundParameters }, (_, i) => i);
    expect(await sql(env.DB)`SELECT 1 AS found WHERE 99 IN ${atLimit}`.first()).toEqual({ found: 1 });
    const overLimit = [...atLimit, limits.d1MaxBoundParameters];
    const placeholders = overLimit.map(() => "?").join(", ");
    await expect(
      env.DB.prepare(`SELECT 1 WHERE 1 IN (${placeholders})`)
        .bind(...overLimit)
        .first(),
    ).rejects.toThrow(/too many SQL variables/);
    expect(() => sql(env.DB)`SELECT 1 WHERE 1 IN ${overLimit}`).toThrow(/D1 accepts at most 100/);
  });
});
