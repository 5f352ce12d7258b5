import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, planImports, Supervisor, TroupeError, type SupervisorOptions } from '../../dist/index.js';
import { agentPath, start, tempDir } from '../helpers.js';

// The error table says which code a situation gets; these scenarios hold it to that. Each names a
// phrase of its code's meaning, makes the situation happen through the public API and checks the
// code it gets. The phrase must be in that code's meaning and in no other's, so a situation filed
// under the wrong code in the docs (issue 15: self-dependency under TROUPE_UNKNOWN_DEPENDENCY) fails.
type Code = keyof typeof ERROR_CODES;
const echo = { module: agentPath('echo') };
const memory = (): SupervisorOptions => ({ agents: { echo, unkeepable: { module: agentPath('unkeepable') } } });

const SCENARIOS: { code: Code; phrase: string; run: () => Promise<unknown> }[] = [
  { code: 'TROUPE_INVALID_OPTIONS', phrase: 'Supervisor options are invalid', run: () => Supervisor.start({ agents: { echo }, pol: {} } as unknown as SupervisorOptions) },
  { code: 'TROUPE_AGENT_MODULE_NOT_FOUND', phrase: 'names a file that does not exist', run: () => Supervisor.start({ agents: { x: { module: '/nowhere/x.mjs' } } }) },
  { code: 'TROUPE_INVALID_TASK', phrase: 'A submitted task is invalid', run: async () => (await start(memory())).submit({ agent: 'echo', priority: 'urgent' } as never) },
  { code: 'TROUPE_UNKNOWN_AGENT', phrase: 'names an agent that is not configured', run: async () => (await start(memory())).submit({ agent: 'toString' }) },
  { code: 'TROUPE_UNKNOWN_RESOURCE', phrase: 'names a resource that is not configured', run: async () => (await start(memory())).submit({ agent: 'echo', resources: ['gpu'] }) },
  { code: 'TROUPE_UNCLONEABLE_INPUT', phrase: 'cannot be sent to a worker thread', run: async () => (await start(memory())).submit({ agent: 'echo', input: () => 1 }) },
  {
    code: 'TROUPE_UNCLONEABLE_RESULT',
    phrase: 'result or checkpoint cannot be kept',
    run: async () => {
      const sup = await start({ ...memory(), journal: join(tempDir(), 'j.db'), durability: 'process' });
      return sup.result(await sup.submit({ agent: 'unkeepable', input: { result: 'sab' } })).catch((err: TroupeError) => Promise.reject(err.cause));
    },
  },
  { code: 'TROUPE_UNKNOWN_TASK', phrase: 'No task has the given id', run: async () => (await start(memory())).result('no-such-task') },
  { code: 'TROUPE_DEPENDENCY_CYCLE', phrase: 'form a cycle', run: async () => (await start(memory())).submitGraph([{ name: 'a', agent: 'echo', dependsOn: ['b'] }, { name: 'b', agent: 'echo', dependsOn: ['a'] }]) },
  { code: 'TROUPE_DEPENDENCY_CYCLE', phrase: 'depends on itself', run: async () => (await start(memory())).submitGraph([{ name: 'a', agent: 'echo', dependsOn: ['a'] }]) },
  { code: 'TROUPE_UNKNOWN_DEPENDENCY', phrase: 'graph name that does not exist', run: async () => (await start(memory())).submitGraph([{ name: 'a', agent: 'echo', dependsOn: ['ghost'] }]) },
  {
    code: 'TROUPE_TASK_NOT_DEAD',
    phrase: 'Only dead tasks can be redriven',
    run: async () => {
      const sup = await start(memory());
      const id = await sup.submit({ agent: 'echo' });
      await sup.result(id);
      return sup.redrive(id);
    },
  },
  {
    code: 'TROUPE_NO_TERMINAL',
    phrase: 'has no terminal to attach to',
    run: async () => {
      const sup = await start(memory());
      return sup.terminal(await sup.submit({ agent: 'echo' }));
    },
  },
  { code: 'TROUPE_UNKNOWN_BREAKER', phrase: 'No agent or resource has a breaker', run: async () => (await start(memory())).setBreaker('gpu', 'open') },
  {
    code: 'TROUPE_SHUTTING_DOWN',
    phrase: 'accepts no new work',
    run: async () => {
      const sup = await start(memory());
      await sup.shutdown();
      return sup.submit({ agent: 'echo' });
    },
  },
  { code: 'TROUPE_INVALID_PLAN', phrase: 'bad directory', run: () => planImports(join(tempDir(), 'missing'), { agent: 'echo' }) },
];

describe('the error table matches what the code does', () => {
  it.each(SCENARIOS.map((s) => [s.code, s.phrase, s] as const))('%s: "%s"', async (code, phrase, scenario) => {
    expect(ERROR_CODES[code], `the meaning of ${code}`).toContain(phrase);
    const others = Object.entries(ERROR_CODES).filter(([c, meaning]) => c !== code && meaning.includes(phrase));
    expect(others.map(([c]) => c), `"${phrase}" is in the meaning of other codes`).toEqual([]);
    const err = await scenario.run().then(
      () => expect.fail('the scenario succeeded'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as TroupeError).code).toBe(code);
  });

  it('every code is raised somewhere in the source (no code documented but dead)', () => {
    const src = resolve(import.meta.dirname, '../../src');
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== join('core', 'errors.ts'));
    const text = files.map((f) => readFileSync(join(src, f), 'utf8')).join('\n');
    const unused = Object.keys(ERROR_CODES).filter((code) => !text.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});
