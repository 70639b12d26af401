import { limits } from "../limits";
import { chunks } from "../platform/chunks";

/**
 * SQL by construction: every statement is a tagged template whose
 * interpolations are bound values, so placeholders are `?` in the order
 * written and no value ever becomes SQL text. Identifiers and keywords are
 * always template text; a choice between them is a choice between fragments.
 *
 *   sql(db)`SELECT * FROM jobs WHERE id = ${id} AND status IN ${statuses}`
 */

/** A value D1 binds to one `?` (booleans are stored as 1 and 0). */
export type SqlValue = string | number | boolean | null | ArrayBuffer | ArrayBufferView;

/**
 * What a template interpolates: a value (one `?`), a fragment (its text
 * inline, its values in place) or a list of values (`(?, ?, …)`, for `IN`;
 * an empty list is `()`, which SQLite reads as the empty set).
 */
export type SqlPart = SqlValue | SqlFragment | readonly SqlValue[];

/** A piece of SQL: `text` holds one `?` per entry of `values`, in order. Made only by `sqlFragment` and `joinSql`. */
class Fragment {
  constructor(
    readonly text: string,
    readonly values: readonly SqlValue[],
  ) {}
}
export type SqlFragment = Fragment;

/**
 * A fragment to nest in a statement or another fragment, written like a
 * statement. Throws a TypeError when the template text holds a `?` (write
 * the value as `${value}`) or a value is undefined (D1 binds null, not
 * undefined).
 */
export function sqlFragment(strings: TemplateStringsArray, ...parts: SqlPart[]): SqlFragment {
  const values: SqlValue[] = [];
  let text = literal(strings, 0);
  parts.forEach((part, i) => {
    text += inline(part, values) + literal(strings, i + 1);
  });
  return new Fragment(text, values);
}

/**
 * A column or table name as SQL text, for a statement built from a list of
 * names (store/jobs.ts `newJobRow`). Throws a TypeError for anything but a
 * plain lower-case name, so no value can become SQL text through it.
 */
export function sqlName(name: string): SqlFragment {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`not a plain SQL name: ${JSON.stringify(name)}`);
  return new Fragment(name, []);
}

/** Fragments joined by a separator; their values stay in order. */
export function joinSql(fragments: readonly SqlFragment[], separator: ", " | " AND " | " OR "): SqlFragment {
  return new Fragment(
    fragments.map((f) => f.text).join(separator),
    fragments.flatMap((f) => f.values),
  );
}

/**
 * A tag that prepares its template as one D1 statement with its values
 * bound. Throws a RangeError, naming the statement, when it binds more
 * values than D1 accepts (`limits.d1MaxBoundParameters`): where it is
 * built, not as D1's "too many SQL variables" once its batch runs. Throws
 * the TypeErrors of `sqlFragment` too.
 */
export function sql(db: D1Database): (strings: TemplateStringsArray, ...parts: SqlPart[]) => D1PreparedStatement {
  return (strings, ...parts) => {
    const { text, values } = sqlFragment(strings, ...parts);
    if (values.length > limits.d1MaxBoundParameters) {
      throw new RangeError(
        `This SQL statement binds ${values.length} values; D1 accepts at most ${limits.d1MaxBoundParameters}. ` +
          `Split it (for example one statement per item, in one batch): ${text.slice(0, 80)}…`,
      );
    }
    const statement = db.prepare(text);
    return values.length > 0 ? statement.bind(...values) : statement;
  };
}

/** A tag that runs its template on a Durable Object's SQLite storage, values bound as `sql` binds them. */
export function storageSql(storage: SqlStorage) {
  return <Row extends Record<string, SqlStorageValue>>(strings: TemplateStringsArray, ...parts: SqlPart[]) => {
    const { text, values } = sqlFragment(strings, ...parts);
    return storage.exec<Row>(text, ...values);
  };
}

function literal(strings: TemplateStringsArray, i: number): string {
  const text = strings[i] ?? "";
  if (text.includes("?")) {
    throw new TypeError(`SQL text may not hold a placeholder ("?"); write the value as \${value}: ${text}`);
  }
  return text;
}

function inline(part: SqlPart, values: SqlValue[]): string {
  if (part instanceof Fragment) {
    values.push(...part.values);
    return part.text;
  }
  if (Array.isArray(part)) return `(${part.map((value: SqlValue) => bound(value, values)).join(", ")})`;
  return bound(part as SqlValue, values);
}

function bound(value: SqlValue, values: SqlValue[]): "?" {
  if (value === undefined) throw new TypeError(`SQL value ${values.length + 1} is undefined; bind null instead`);
  values.push(value);
  return "?";
}

/**
 * SELECT statements (each a whole `SELECT … FROM …`, wrapped as a subquery
 * if it orders or limits) as one compound `UNION ALL`, nested so that no
 * compound has more terms than D1 runs (`limits.d1MaxCompoundSelectTerms`):
 * up to 25 selects. Throws a RangeError for more.
 */
export function unionAll(selects: readonly SqlFragment[]): SqlFragment {
  const most = limits.d1MaxCompoundSelectTerms;
  if (selects.length > most * most) throw new RangeError(`unionAll joins at most ${most * most} selects`);
  const join = (terms: readonly SqlFragment[]) =>
    new Fragment(
      terms.map((t) => t.text).join(" UNION ALL "),
      terms.flatMap((t) => t.values),
    );
  if (selects.length <= most) return join(selects);
  return join(chunks(selects, most).map((terms) => sqlFragment`SELECT * FROM (${join(terms)})`));
}
