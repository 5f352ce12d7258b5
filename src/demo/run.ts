import { fileURLToPath } from 'node:url';
import { Supervisor, type Priority } from '../index.js';
import { nodeCommand } from '../internal.js';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

const TEXTS = [
  'the quick brown fox jumps over the lazy dog',
  'actors communicate only through messages and never share state',
  'a journal that records every transition lets work survive a crash',
];

/** `npm start`: a small workload of module and command agents, printed as it completes. */
export async function runDemo(write: (line: string) => void): Promise<void> {
  const node = nodeCommand();
  const sup = await Supervisor.start({
    pool: { minThreads: 2, maxThreads: 4, idleTimeoutMs: 1_000 },
    agents: {
      hash: { module: here('./agents/hash.js'), concurrency: 4 },
      words: { command: node.command, args: [...node.args, here('./commands/word-count.js')], concurrency: 2 },
    },
    resources: { cpu: { concurrency: 3 } },
  });
  const priorities: Priority[] = ['low', 'normal', 'high', 'critical'];
  const started = performance.now();
  const jobs = [
    ...Array.from({ length: 8 }, (_, i) => ({
      label: `hash #${i + 1} (${priorities[i % 4]})`,
      id: sup.submit({ agent: 'hash', input: { text: `task-${i}`, rounds: 20_000 }, priority: priorities[i % 4], resources: ['cpu'] }),
    })),
    ...TEXTS.map((text, i) => ({ label: `words #${i + 1}`, id: sup.submit({ agent: 'words', input: { text } }) })),
  ];
  await Promise.all(
    jobs.map(async (job) => {
      const id = await job.id;
      const result = await sup.result(id);
      write(`${job.label.padEnd(22)} → ${JSON.stringify(result)}`);
    }),
  );
  const snap = sup.snapshot();
  const elapsed = (performance.now() - started).toFixed(0);
  write(`\n${snap.counters.succeeded} tasks succeeded in ${elapsed} ms on up to ${snap.pool.maxThreads} threads`);
  write(`end-to-end latency p50 ${snap.latency.endToEnd.p50} ms, p99 ${snap.latency.endToEnd.p99} ms`);
  await sup.shutdown();
}
