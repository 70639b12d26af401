/**
 * Retry-After as seconds from `now` (ms): delta-seconds or an HTTP date
 * (RFC 9110 §10.2.3); null when absent or unreadable. No imports: the
 * client bundles it too.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}
