// Task ids: UUIDv7 (RFC 9562), time-ordered, so that the journal's B-trees keyed by id grow at
// their right edge instead of splitting pages at random places (UUIDv4 ids cost a journal write
// several times as much).
import { randomUUID } from 'node:crypto';

let lastMs = 0;
let seq = 0;

/**
 * A new id: 48 bits of Unix ms, version 7, a 12-bit counter that keeps ids made within one
 * millisecond in order (method 1 of RFC 9562 §6.2), then 62 random bits. Strings sort as they were made.
 */
export function newId(now: number = Date.now()): string {
  let ms = Math.floor(now);
  if (ms <= lastMs) {
    ms = lastMs;
    seq += 1;
    if (seq > 0xfff) {
      ms += 1; // borrow the next millisecond rather than go out of order
      seq = 0;
    }
  } else {
    seq = 0;
  }
  lastMs = ms;
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7${seq.toString(16).padStart(3, '0')}${randomUUID().slice(18)}`;
}
