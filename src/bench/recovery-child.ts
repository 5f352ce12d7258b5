/**
 * The process bench workload `recovery` kills. Starts a runtime on a fresh journal file, submits
 * `tasks` tasks of a module agent that waits on a gate file, writes the accepted ids to `ids` (one
 * a line), waits until the pool's threads are busy, prints `accepted <tasks> <submitMs>` and then
 * waits to be killed (it exits on its own only when its stdin closes, i.e. the parent is gone).
 *
 * Usage: node recovery-child.js '<JSON ChildConfig>'
 */
import { writeFileSync } from 'node:fs';
import { Supervisor } from '../index.js';

export interface ChildConfig {
  journal: string;
  gate: string;
  ids: string;
  tasks: number;
  threads: number;
  agent: string;
  module: string;
}

async function main(config: ChildConfig): Promise<void> {
  const sup = await Supervisor.start({
    journal: config.journal,
    durability: 'fsync',
    pool: { minThreads: config.threads, maxThreads: config.threads },
    agents: { [config.agent]: { module: config.module } },
  });
  const t0 = performance.now();
  const accepted = new Array<Promise<string>>(config.tasks);
  for (let i = 0; i < config.tasks; i += 1) accepted[i] = sup.submit({ agent: config.agent, input: { gate: config.gate } });
  const ids = await Promise.all(accepted);
  const submitMs = performance.now() - t0;
  // The kill should find tasks running as well as queued: wait (a little) for the threads to take some.
  const deadline = performance.now() + 5_000;
  while (sup.snapshot().running < Math.min(config.threads, config.tasks) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  writeFileSync(config.ids, `${ids.join('\n')}\n`);
  process.stdout.write(`accepted ${ids.length} ${submitMs.toFixed(1)}\n`);
  process.stdin.on('end', () => process.exit(0)).resume();
}

main(JSON.parse(process.argv[2] ?? '{}') as ChildConfig).catch((err: unknown) => {
  const e = err as { stack?: string };
  process.stderr.write(`recovery-child: ${e.stack ?? String(err)}\n`);
  process.exit(1);
});
