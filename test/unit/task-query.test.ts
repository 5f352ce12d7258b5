import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countTasks, deadMatching, selectTasks } from '../../dist/runtime/task-query.js';
import { TASK_STATES, type TaskRecord, type TaskState } from '../../dist/core/task.js';

// The console's finding of tasks (issue 19), as pure functions of the task table.

const task = (seq: number, state: TaskState, extra: Partial<TaskRecord> = {}): TaskRecord =>
  ({ id: `t${String(seq).padStart(4, '0')}`, seq, agent: seq % 2 === 0 ? 'even' : 'odd', kind: 'module', priority: 'normal', resources: [], input: { n: seq }, state, attempt: 0, submittedAt: 1000 + seq, ...extra }) as TaskRecord;

const table = fc.array(fc.constantFrom(...TASK_STATES), { maxLength: 60 }).map((states) => states.map((s, i) => task(i + 1, s)));

describe('selectTasks', () => {
  it('pages through every match exactly once, oldest or newest first, whatever the page size', () => {
    fc.assert(
      fc.property(table, fc.integer({ min: 1, max: 7 }), fc.boolean(), fc.subarray([...TASK_STATES], { minLength: 1 }), (tasks, limit, newest, states) => {
        const shuffled = [...tasks].reverse(); // the table's order is not the list's
        const seen: string[] = [];
        let after: number | undefined;
        for (let pages = 0; pages <= tasks.length + 1; pages += 1) {
          const page = selectTasks(shuffled, { state: states, newest, limit }, after);
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(limit);
          seen.push(...page.map((t) => t.id));
          after = page.at(-1)!.seq;
        }
        const expected = tasks.filter((t) => states.includes(t.state)).map((t) => t.id);
        expect(seen).toEqual(newest ? expected.reverse() : expected);
      }),
    );
  });

  it('filters by agent, submission time and text, case-insensitively, in the input and the error', () => {
    const tasks = [task(1, 'dead', { error: { name: 'Error', message: 'ECONNRESET by peer' } }), task(2, 'succeeded', { input: { url: 'https://Example.test' } }), task(3, 'queued', { key: 'order-42' })];
    const ids = (q: Parameters<typeof selectTasks>[1]): string[] => selectTasks(tasks, q, undefined).map((t) => t.id);
    expect(ids({ search: 'econnreset' })).toEqual(['t0001']);
    expect(ids({ search: 'example.TEST' })).toEqual(['t0002']);
    expect(ids({ search: 'ORDER-4' })).toEqual(['t0003']);
    expect(ids({ agent: 'odd' })).toEqual(['t0001', 't0003']);
    expect(ids({ since: 1002, until: 1003 })).toEqual(['t0002']);
    expect(countTasks(tasks, { agent: 'odd' })).toEqual({ total: 2, byState: { blocked: 0, queued: 1, delayed: 0, running: 0, succeeded: 0, dead: 1, cancelled: 0 } });
    expect(deadMatching(tasks.filter((t) => t.state === 'dead'), { search: 'peer' })).toEqual(['t0001']);
  });
});
