import { describe, expect, it } from 'vitest';
import { systemClock } from '../../dist/core/clock.js';

describe('systemClock', () => {
  it('never runs a timer before now() has advanced by its delay (Node timers alone can fire early)', async () => {
    const delays = Array.from({ length: 60 }, (_, i) => (i % 6) + 0.5);
    const early = await Promise.all(
      delays.map(
        (ms) =>
          new Promise<number>((done) => {
            const due = systemClock.now() + ms;
            systemClock.setTimeout(() => done(due - systemClock.now()), ms);
          }),
      ),
    );
    expect(early.filter((left) => left > 0)).toEqual([]);
  });

  it('clearTimeout stops a timer, also before it is first armed again', async () => {
    let ran = false;
    const handle = systemClock.setTimeout(() => (ran = true), 1);
    systemClock.clearTimeout(handle);
    await new Promise<void>((done) => systemClock.setTimeout(done, 20));
    expect(ran).toBe(false);
  });
});
