/** The one seam for time, so tests can reason about it. */
export const clock = {
  now: (): number => Date.now(),
};

export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
