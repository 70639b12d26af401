import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { type Setting, settings } from "../../src/config";

const START = "<!-- settings: generated from src/config.ts; test/config/settings.test.ts checks it -->";
const END = "<!-- /settings -->";

const scopes: Record<Setting<unknown>["scope"], string> = {
  production: "production",
  development: "development only",
  test: "tests only",
};

/** The README's settings table as src/config.ts defines the settings, one row each. */
function settingsTable(): string {
  const rows = Object.values(settings as Record<string, Setting<unknown>>).map((s) =>
    [
      `\`${s.variable}\``,
      scopes[s.scope],
      s.default === undefined ? "unset" : `\`${s.default}\``,
      s.accepts,
      `logs an error; ${s.whenBad?.means ?? "the default applies"}`,
      s.does,
    ].join(" | "),
  );
  return [
    "| variable | set in | default | accepts | a bad value | what it does |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}

describe("the settings", () => {
  it("are listed in the README exactly as src/config.ts defines them", () => {
    const readme = readFileSync("README.md", "utf8");
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start, `README.md needs the settings table between ${START} and ${END}`).toBeGreaterThan(-1);
    // On a difference, paste the expected table into the README.
    expect(readme.slice(start + START.length, end).trim()).toBe(settingsTable());
  });

  it("are the only variables wrangler.toml sets, and those not for production keep their default there", () => {
    const { vars } = unstable_readConfig({ config: "wrangler.toml" });
    const byVariable = new Map(Object.values(settings as Record<string, Setting<unknown>>).map((s) => [s.variable, s]));
    for (const [variable, value] of Object.entries(vars)) {
      const setting = byVariable.get(variable);
      expect(setting, `wrangler.toml sets ${variable}, which src/config.ts does not read`).toBeDefined();
      if (setting?.scope !== "production") expect(value, variable).toBe(setting?.default);
    }
  });
});
