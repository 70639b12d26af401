import { clock } from "./clock";

// Crockford base32, the ULID alphabet.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastTime = -1;
let lastRandom: number[] = [];

/**
 * A ULID: 48-bit time then 80 random bits, monotonic within an isolate so ids
 * made in the same millisecond still sort in creation order (each a random
 * step above the last: `steppedUp`). With `shard` (0–31), the last character
 * is that number instead of a random one, so storage can tell from the id
 * alone where its record lives (store/databases.ts); ids stay monotonic,
 * since the step happens in the characters before it.
 */
export function ulid(now = clock.now(), shard?: number): string {
  if (now > lastTime) startAt(now);
  // A step past the top of the random bits would wrap below the ids before it: move on a millisecond instead.
  else if (!steppedUp(lastRandom)) startAt(lastTime + 1);
  const random = lastRandom.map((d) => ALPHABET[d]).join("");
  return timeChars(lastTime) + (shard === undefined ? random : random.slice(0, -1) + ALPHABET[shard]);
}

/** A ULID's first 10 characters: `ms` (a whole number of Unix ms, 0 to 2^48 − 1) in base 32. */
function timeChars(ms: number): string {
  let time = "";
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

/**
 * The least id `prefix` + `ulid()` can be at `ms` (Unix ms; a fraction is
 * rounded up, a time before 1970 taken as 0): its time, then 16 zeros. Ids
 * compare as strings in time order (fixed width, an alphabet in ASCII order),
 * so an id made before the millisecond `ms` sorts below it, and one made at
 * `ms` or later does not. `ulid`'s monotonicity can only give an id a time
 * later than its clock read (by the ids made in the same isolate within a
 * millisecond), never an earlier one, so an id below this bound was made
 * before `ms`.
 */
export function firstIdAt(prefix: string, ms: number): string {
  return prefix + timeChars(Math.max(0, Math.ceil(ms))) + "0".repeat(16);
}

/** The shard number `ulid(now, shard)` wrote into an id (its last character, 0–31). */
export function shardInId(id: string): number {
  return ALPHABET.indexOf(id.at(-1) as string);
}

/** The millisecond of the ids to come, and fresh random bits for the first of them. */
function startAt(time: number): void {
  lastTime = time;
  lastRandom = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b & 31);
}

/** Base-32 digits in a random step: 40 bits, so 2^35 ids a millisecond could not use up the 75 bits stepped. */
const stepDigits = 8;

/**
 * Steps up by a random amount (1 to 2^40) in all but the last character,
 * which may carry a shard number; false when the step ran past the top (the
 * digits wrapped, so they must not be used). Ids made in the same
 * millisecond (a whole batch, as a Worker's clock stands still while it
 * computes) still sort in creation order, but the next one cannot be told
 * from the last, as a count of one would let it (API.md: ids are unguessable).
 */
function steppedUp(digits: number[]): boolean {
  const step = Array.from(crypto.getRandomValues(new Uint8Array(stepDigits)), (b) => b & 31);
  let carry = 1; // at least one: the id must grow
  for (let i = digits.length - 2, k = step.length - 1; i >= 0; i--, k--) {
    const sum = (digits[i] as number) + (step[k] ?? 0) + carry;
    digits[i] = sum % 32;
    carry = sum >> 5;
  }
  return carry === 0;
}

/** New ids. A job's, a batch's and their events' ids carry the number of the shard that stores them. */
export const newId = {
  job: (shard: number) => `job_${ulid(clock.now(), shard)}`,
  event: (shard: number) => `evt_${ulid(clock.now(), shard)}`,
  batch: (shard: number) => `bat_${ulid(clock.now(), shard)}`,
  key: () => `key_${ulid()}`,
  tenant: () => `ten_${ulid()}`,
  schedule: () => `sch_${ulid()}`,
};

/** The shape of a job id, checked before an id reaches storage or a tracker. */
export function isJobId(value: string): boolean {
  return /^job_[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}

/** The shape of a webhook event id (`evt_…`), checked before an id reaches storage. */
export function isEventId(value: string): boolean {
  return /^evt_[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}

/** The shape of a batch id, checked before an id reaches storage or a tracker. */
export function isBatchId(value: string): boolean {
  return /^bat_[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}

/** The shape of a schedule id (`sch_` + a ULID). */
export function isScheduleId(value: string): boolean {
  return /^sch_[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}
