import { describe, expect, it } from 'vitest';
import { prng } from '../chaos/prng.mjs';
import { SlotLedger } from '../../dist/actors/agent/slots.js';

type Spec = { id: string };
const ledger = (): SlotLedger<Spec> => new SlotLedger<Spec>((s) => s.id);
const CAP = { module: 8, command: 2 };

describe('SlotLedger: the Agent’s credits and held tasks', () => {
  it('grants every free slot once, moves a task starting → ready → launched, and frees its slot when it finishes', () => {
    const l = ledger();
    expect(l.grantAfresh('module', 4)).toBe(4);
    expect(l.refill('module', 4)).toBe(0); // all granted already
    l.dispatched('module', 'a', { id: 'a' });
    expect({ busy: l.busy('module'), outstanding: l.outstanding('module') }).toEqual({ busy: 1, outstanding: 3 });
    expect(l.refill('module', 4)).toBe(0); // a dispatch turns a credit into a busy slot
    expect(l.launchNext('module', 2)).toBeUndefined(); // not durably started yet
    expect(l.started('a')).toEqual({ id: 'a' });
    expect(l.started('a')).toBeUndefined(); // once
    expect(l.launchNext('module', 2)).toEqual({ id: 'a' });
    expect({ busy: l.busy('module'), launched: l.launched('module') }).toEqual({ busy: 1, launched: 1 });
    l.finished('module');
    expect(l.busy('module')).toBe(0);
    expect(l.refill('module', 4)).toBe(1);
    l.check({ module: 4 });
  });

  it('launches no more than the slots, oldest ready first', () => {
    const l = ledger();
    l.grantAfresh('command', 4);
    for (const id of ['a', 'b', 'c']) {
      l.dispatched('command', id, { id });
      l.started(id);
    }
    expect([l.launchNext('command', 2), l.launchNext('command', 2), l.launchNext('command', 2)]).toEqual([{ id: 'a' }, { id: 'b' }, undefined]);
    l.finished('command');
    expect(l.launchNext('command', 2)).toEqual({ id: 'c' });
    expect(l.busy('command')).toBe(2);
    l.check({ command: 4 });
  });

  it('drops a task starting or ready (never launched), and nothing else', () => {
    const l = ledger();
    l.grantAfresh('module', 8);
    for (const id of ['a', 'b', 'c']) l.dispatched('module', id, { id });
    l.started('b');
    l.started('c');
    expect(l.drop('a')).toEqual({ spec: { id: 'a' }, kind: 'module' });
    expect(l.drop('b')).toEqual({ spec: { id: 'b' }, kind: 'module' });
    expect(l.drop('a')).toBeUndefined();
    expect(l.launchNext('module', 4)).toEqual({ id: 'c' });
    expect(l.drop('c')).toBeUndefined(); // launched: only its outcome frees it
    expect(l.busy('module')).toBe(1);
    l.check({ module: 8 });
  });

  it('a reset forgets the credits granted before; a dispatch on a forgotten credit counts nothing negative', () => {
    const l = ledger();
    l.grantAfresh('module', 2);
    l.dispatched('module', 'a', { id: 'a' });
    expect(l.grantAfresh('module', 2)).toBe(1);
    l.dispatched('module', 'b', { id: 'b' });
    l.dispatched('module', 'late', { id: 'late' }); // dispatched on a credit the reset forgot
    expect(l.outstanding('module')).toBe(0);
    expect(l.refill('module', 2)).toBe(0); // above capacity: nothing granted until it is not
    expect(() => l.check()).not.toThrow();
    expect(() => l.check({ module: 2 })).toThrow(/exceed the capacity/);
  });

  it('finishing a run that was never launched is a bug, not a negative count', () => {
    expect(() => ledger().finished('module')).toThrow(/no module run to finish/);
  });

  it('keeps its invariant through random sequences of grants, dispatches, starts, drops, launches and ends', () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const random = prng(seed);
      const l = ledger();
      const launched: Record<'module' | 'command', number> = { module: 0, command: 0 };
      const waiting: string[] = [];
      let next = 0;
      for (const kind of ['module', 'command'] as const) l.grantAfresh(kind, CAP[kind]);
      for (let step = 0; step < 400; step += 1) {
        const kind = random() < 0.7 ? 'module' : 'command';
        const roll = random();
        if (roll < 0.3 && l.outstanding(kind) > 0) {
          const id = `t${next++}`;
          l.dispatched(kind, id, { id });
          waiting.push(id);
        } else if (roll < 0.5 && waiting.length > 0) {
          l.started(waiting[Math.floor(random() * waiting.length)]!);
        } else if (roll < 0.6 && waiting.length > 0) {
          const [id] = waiting.splice(Math.floor(random() * waiting.length), 1);
          const dropped = l.drop(id!);
          if (dropped !== undefined) l.refill(dropped.kind, CAP[dropped.kind]);
        } else if (roll < 0.8) {
          const spec = l.launchNext(kind, CAP[kind] / 2);
          if (spec !== undefined) {
            launched[kind] += 1;
            waiting.splice(waiting.indexOf(spec.id), 1);
          }
        } else if (launched[kind] > 0) {
          launched[kind] -= 1;
          l.finished(kind);
          l.refill(kind, CAP[kind]);
        }
        l.check(CAP);
        for (const k of ['module', 'command'] as const) {
          expect(l.launched(k)).toBe(launched[k]);
          expect(l.launched(k)).toBeLessThanOrEqual(CAP[k] / 2);
        }
        expect(l.busy('module') + l.busy('command')).toBe(waiting.length + launched.module + launched.command);
      }
    }
  });
});
