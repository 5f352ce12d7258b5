import { describe, expect, it } from 'vitest';
import { newId } from '../../dist/core/ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newId', () => {
  it('makes UUIDv7 strings that sort in the order they were made, within one millisecond too', () => {
    const ids = Array.from({ length: 10_000 }, () => newId(1_800_000_000_000));
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries its millisecond, and never goes back when the clock does', () => {
    const later = newId(1_900_000_000_000);
    expect(parseInt(later.slice(0, 8) + later.slice(9, 13), 16)).toBe(1_900_000_000_000);
    const earlierClock = newId(1_800_000_000_000);
    expect(earlierClock > later).toBe(true);
  });
});
