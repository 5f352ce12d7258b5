// Task ids: UUIDv7 (RFC 9562), time-ordered, so that the journal's B-trees keyed by id grow at
// their right edge instead of splitting pages at random places (UUIDv4 ids cost a journal write
// several times as much).
import { randomUUID } from 'node:crypto';

let lastMs = 0;
let seq = 0;
/** One buffer to format ids in: a string made from it is flat (36 bytes), not a rope of the parts. */
const out = Buffer.alloc(36);
const HEX = '0123456789abcdef';

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
  // xxxxxxxx-xxxx-7sss-vrrr-rrrrrrrrrrrr: the variant and random part come from a v4 UUID.
  out.write(randomUUID(), 'latin1');
  for (let i = 12, v = ms; i >= 0; i -= 1) {
    if (i === 8) continue;
    out[i] = HEX.charCodeAt(v % 16);
    v = Math.floor(v / 16);
  }
  out[14] = 0x37; // '7'
  out[15] = HEX.charCodeAt((seq >> 8) & 0xf);
  out[16] = HEX.charCodeAt((seq >> 4) & 0xf);
  out[17] = HEX.charCodeAt(seq & 0xf);
  return out.toString('latin1');
}
