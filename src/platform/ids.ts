import { clock } from "./clock";

// Crockford base32, the ULID alphabet.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastTime = -1;
let lastRandom: number[] = [];

/**
 * A ULID: 48-bit time then 80 random bits, monotonic within an isolate so ids
 * made in the same millisecond still sort in creation order.
 */
export function ulid(now = clock.now()): string {
  if (now <= lastTime) {
    incrementRandom(lastRandom);
  } else {
    lastTime = now;
    lastRandom = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b & 31);
  }
  let time = "";
  let t = lastTime;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + lastRandom.map((d) => ALPHABET[d]).join("");
}

function incrementRandom(digits: number[]): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = digits[i] as number;
    if (d < 31) {
      digits[i] = d + 1;
      return;
    }
    digits[i] = 0;
  }
}

export const newId = {
  job: () => `job_${ulid()}`,
  event: () => `evt_${ulid()}`,
  key: () => `key_${ulid()}`,
  tenant: () => `ten_${ulid()}`,
};

/** The shape of a job id, checked before an id reaches storage or a tracker. */
export function isJobId(value: string): boolean {
  return /^job_[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}
