import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Supervisor, TroupeError, type TroupeEvent } from '../../dist/index.js';
import { FIXTURES, agentPath, record, start, tempDir, waitFor } from '../helpers.js';

const agents = {
  edit: { module: agentPath('echo') },
  review: { module: agentPath('echo') },
  flaky: { module: agentPath('flaky'), retry: { attempts: 2, backoff: { initialMs: 1, factor: 1, maxMs: 1, jitter: 0 } } },
  triage: { module: agentPath('echo') },
};

/** The task a pipeline submitted for `origin`, once there is one. */
async function routedFrom(sup: Supervisor, events: TroupeEvent[], origin: string): Promise<string> {
  let id: string | undefined;
  await waitFor(() => {
    id = events.filter((e) => e.type === 'submitted').map((e) => (e as { taskId: string }).taskId).find((t) => sup.get(t)?.origin === origin);
    return id !== undefined;
  }, `a task routed from ${origin}`);
  return id!;
}

describe('pipelines', () => {
  it('submits a task of the next agent with the result when a task succeeds', async () => {
    const sup = await start({ agents, pipelines: [{ from: 'edit', to: 'review', priority: 'high' }] });
    const events = record(sup);
    const edit = await sup.submit({ agent: 'edit', input: { file: 'a.ts' } });
    const editResult = await sup.result(edit);
    const review = await routedFrom(sup, events, edit);
    expect(sup.get(review)).toMatchObject({ agent: 'review', priority: 'high', origin: edit });
    await expect(sup.result(review)).resolves.toMatchObject({ input: editResult });
    expect(sup.pipelines()).toEqual([{ from: 'edit', on: 'succeeded', to: 'review', priority: 'high', input: 'result' }]);
  });

  it('routes a dead letter to an escalation agent with an envelope; a retried failure routes nothing', async () => {
    const sup = await start({ agents, pipelines: [{ from: 'flaky', on: 'dead', to: 'triage' }, { from: 'flaky', to: 'review', input: 'envelope' }] });
    const events = record(sup);
    const dead = await sup.submit({ agent: 'flaky', input: { fail: true } });
    const triage = await routedFrom(sup, events, dead);
    const out = (await sup.result(triage)) as { input: { taskId: string; agent: string; input: unknown; error: { message: string } } };
    expect(out.input).toMatchObject({ taskId: dead, agent: 'flaky', input: { fail: true }, error: { message: 'asked to fail' } });
    expect(sup.get(dead)?.state).toBe('dead');
    // Two failed runs (one retry), one dead letter, one routed task.
    expect(events.filter((e) => e.type === 'failed' && e.taskId === dead)).toHaveLength(2);
    expect(events.filter((e) => e.type === 'submitted' && sup.get(e.taskId)?.origin === dead)).toHaveLength(1);

    const ok = await sup.submit({ agent: 'flaky', input: {} });
    const review = await routedFrom(sup, events, ok);
    await expect(sup.result(review)).resolves.toMatchObject({ input: { taskId: ok, agent: 'flaky', input: {}, result: 'ok' } });
  });

  it('a child that fails with its dead parent is a dead letter too, and routes', async () => {
    const sup = await start({ agents, pipelines: [{ from: 'review', on: 'dead', to: 'triage' }] });
    const events = record(sup);
    const ids = await sup.submitGraph([
      { name: 'p', agent: 'flaky', input: { fail: true }, retry: { attempts: 1 } },
      { name: 'c', agent: 'review', dependsOn: ['p'] },
    ]);
    const triage = await routedFrom(sup, events, ids.c!);
    await expect(sup.result(triage)).resolves.toMatchObject({ input: { taskId: ids.c, error: { code: 'TROUPE_DEPENDENCY_FAILED' } } });
  });

  it('refuses rules naming unknown agents or resources, and rules that route in a circle', async () => {
    const bad = async (pipelines: unknown): Promise<TroupeError> => {
      const err = await Supervisor.start({ agents, pipelines } as never).then(
        async (s) => (await s.shutdown(), new Error('started')),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TroupeError);
      return err as TroupeError;
    };
    expect(await bad([{ from: 'edit', to: 'nobody' }])).toMatchObject({ code: 'TROUPE_INVALID_OPTIONS', details: { field: 'options.pipelines[0].to' } });
    expect(await bad([{ from: 'edit', to: 'review', resources: ['gpu'] }])).toMatchObject({ details: { field: 'options.pipelines[0].resources[0]' } });
    expect(await bad([{ from: 'edit', to: 'review', when: 'done' }])).toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
    expect(await bad([{ from: 'edit', on: 'dead', to: 'triage', input: 'result' }])).toMatchObject({ details: { field: 'options.pipelines[0].input' } });
    const circle = await bad([{ from: 'edit', to: 'review' }, { from: 'review', on: 'dead', to: 'edit' }]);
    expect(circle).toMatchObject({ details: { field: 'options.pipelines', rule: 'must not route in a circle' } });
    expect(circle.message).toMatch(/edit → review → edit|review → edit → review/);
    expect(await bad([{ from: 'edit', to: 'edit' }])).toMatchObject({ details: { field: 'options.pipelines' } });
  });

  it('with a journal, a completion acknowledged before a SIGKILL has its routed task after restart', async () => {
    const dir = tempDir();
    const journal = join(dir, 'troupe.db');
    const script = `
      import { Supervisor } from 'troupe';
      const sup = await Supervisor.start({ journal: ${JSON.stringify(journal)}, pipelines: [{ from: 'edit', to: 'review' }],
        agents: { edit: { module: ${JSON.stringify(agentPath('echo'))} }, review: { module: ${JSON.stringify(agentPath('gate'))} } } });
      const id = await sup.submit({ agent: 'edit', input: { gate: ${JSON.stringify(join(dir, 'never'))} } });
      await sup.result(id);
      process.stdout.write(JSON.stringify({ id }) + '\\n');
      setInterval(() => {}, 60_000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: FIXTURES, stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor(() => out.includes('\n') || child.exitCode !== null, 'edit acknowledged');
    const { id } = JSON.parse(out.split('\n')[0]!) as { id: string };
    child.kill('SIGKILL');
    await waitFor(() => child.signalCode !== null, 'child dead');

    const sup = await start({ journal, agents: { ...agents, review: { module: agentPath('gate') } } });
    const routed = (await sup.list({ agent: 'review' })).filter((t) => t.origin === id);
    expect(routed).toHaveLength(1);
    expect(['queued', 'running']).toContain(routed[0]!.state);
  });
});
