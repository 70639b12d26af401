import { toBase64Url } from "../platform/crypto";
import { DomainError } from "./errors";

/**
 * List cursors: the page's last id (a ULID-based id, so lists merged from
 * every shard page by id), base64url without padding — opaque to clients.
 */
export const encodeCursor = (id: string): string => toBase64Url(new TextEncoder().encode(id));

/** The id inside `cursor`; throws 400 `validation_failed` unless it is an id `isValid` accepts. */
export function decodeCursor(cursor: string, isValid: (id: string) => boolean): string {
  // Base64url without padding; a length of 1 mod 4 can never decode.
  const decodable = /^[A-Za-z0-9_-]+$/.test(cursor) && cursor.length % 4 !== 1;
  const id = decodable ? atob(cursor.replaceAll("-", "+").replaceAll("_", "/")) : "";
  if (!isValid(id)) {
    throw new DomainError(400, "validation_failed", "The cursor is not one this API gave out.", [
      { path: "query.cursor", message: "invalid cursor" },
    ]);
  }
  return id;
}
