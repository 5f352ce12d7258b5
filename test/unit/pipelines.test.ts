import { describe, expect, it } from 'vitest';
import { makeRouter } from '../../dist/engine/pipelines.js';
import { Ledger } from '../../dist/engine/ledger.js';
import { resolvePipelines, pipelinesSchema, type PipelineRule } from '../../dist/core/pipeline-options.js';
import type { Message } from '../../dist/core/messages.js';
import type { TaskRecord } from '../../dist/core/task.js';

const AGENTS = new Set(['edit', 'review', 'triage']);
const resolve = (rules: unknown[]): PipelineRule[] => resolvePipelines(pipelinesSchema.parse(rules), AGENTS, new Set(['gpu']));

function task(id: string, over: Partial<TaskRecord> = {}): TaskRecord {
  return { id, seq: 1, agent: 'edit', kind: 'module', priority: 'low', resources: [], input: { file: 'a' }, state: 'queued', attempt: 0, submittedAt: 1, ...over };
}

describe('resolvePipelines', () => {
  it('applies defaults: on succeeded, input result; envelope for dead', () => {
    expect(resolve([{ from: 'edit', to: 'review' }, { from: 'edit', on: 'dead', to: 'triage' }])).toEqual([
      { from: 'edit', on: 'succeeded', to: 'review', input: 'result' },
      { from: 'edit', on: 'dead', to: 'triage', input: 'envelope' },
    ]);
  });

  it('refuses a chain that comes back to where it started, however long', () => {
    expect(() => resolve([{ from: 'edit', to: 'review' }, { from: 'review', to: 'triage' }, { from: 'triage', on: 'dead', to: 'edit' }])).toThrow(
      /must not route in a circle.*edit → review → triage → edit/,
    );
    expect(() => resolve([{ from: 'edit', to: 'review' }, { from: 'edit', to: 'triage' }, { from: 'review', to: 'triage' }])).not.toThrow();
  });
});

describe('makeRouter', () => {
  it('is undefined without rules, so the ledger skips routing', () => {
    expect(makeRouter([], () => 'module', () => 1)).toBeUndefined();
  });

  it('builds queued tasks of the target agent, numbered in order, with the origin and the chosen input', () => {
    let seq = 10;
    const route = makeRouter(resolve([{ from: 'edit', to: 'review', resources: ['gpu'] }, { from: 'edit', to: 'triage', input: 'envelope', priority: 'critical' }]), () => 'command', () => ++seq)!;
    const done = task('e1', { state: 'succeeded', result: { diff: 1 } });
    const out = route(done, 'succeeded', 50) as Extract<Message, { type: 'task.submitted' }>[];
    expect(out.map((m) => m.task)).toMatchObject([
      { agent: 'review', kind: 'command', priority: 'low', resources: ['gpu'], input: { diff: 1 }, origin: 'e1', state: 'queued', seq: 11, submittedAt: 50 },
      { agent: 'triage', priority: 'critical', input: { taskId: 'e1', agent: 'edit', input: { file: 'a' }, result: { diff: 1 } }, seq: 12 },
    ]);
    expect(out[0]!.task.id).not.toBe(out[1]!.task.id);
    expect(route(done, 'dead', 50)).toEqual([]);
    expect(route(task('r', { agent: 'review', state: 'succeeded' }), 'succeeded', 50)).toEqual([]);
  });
});

describe('Ledger with a router', () => {
  const ledger = (): Ledger => {
    const l = new Ledger();
    l.setRouter(makeRouter(resolve([{ from: 'edit', to: 'review' }, { from: 'edit', on: 'dead', to: 'triage' }]), () => 'module', () => l.nextSeq()));
    l.apply({ type: 'task.submitted', task: task('e1'), at: 1 });
    l.apply({ type: 'task.started', taskId: 'e1', attempt: 1, lease: '1:1', at: 2 });
    return l;
  };
  const failed = (retryAt?: number): Message => ({
    type: 'task.failed', taskId: 'e1', lease: '1:1', error: { name: 'Error', message: 'x' }, at: 3, counts: true, launchedAt: 2, place: {}, ...(retryAt === undefined ? {} : { retryAt }),
  });
  const routedAgents = (msgs: readonly Message[]): string[] => msgs.map((m) => (m.type === 'task.submitted' ? m.task.agent : m.type));

  it('routes a success and a dead letter, not a failure that will be retried', () => {
    let l = ledger();
    const ok: Message = { type: 'task.succeeded', taskId: 'e1', lease: '1:1', result: 'r', at: 3 };
    expect(l.apply(ok)).toBe(true);
    expect(routedAgents(l.consequences(ok))).toEqual(['review']);
    l = ledger();
    expect(l.apply(failed(100))).toBe(true);
    expect(l.consequences(failed(100))).toEqual([]);
    l = ledger();
    expect(l.apply(failed())).toBe(true);
    expect(routedAgents(l.consequences(failed()))).toEqual(['triage']);
  });

  it('a rolled-back batch takes the routed task back with the completion', () => {
    const l = ledger();
    l.begin();
    const ok: Message = { type: 'task.succeeded', taskId: 'e1', lease: '1:1', result: 'r', at: 3 };
    l.apply(ok);
    const [routed] = l.consequences(ok) as Extract<Message, { type: 'task.submitted' }>[];
    expect(l.apply(routed!)).toBe(true);
    expect(l.get(routed!.task.id)?.state).toBe('queued');
    l.rollback();
    expect(l.get(routed!.task.id)).toBeUndefined();
    expect(l.get('e1')?.state).toBe('running');
  });
});
