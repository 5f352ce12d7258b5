// The runtime under test in the crash test (see harness.mjs). Plain JS on the built package.
//
//   node test/chaos/child.mjs --mode load  --journal J.db --effects effects.log [--batch 2] [--every 10] [--work-ms 0-20] [--max-backlog 200]
//   node test/chaos/child.mjs --mode drain --journal J.db --effects effects.log [--timeout 60000]
//
// stdout, one line each:
//   ready {json}       the runtime started (and recovered the journal)
//   accepted <id>      submit() resolved: the task is committed to the journal (load)
//   drained {json}     no task queued or running any more (drain); then a clean shutdown
//   stopped {json}     shutdown() resolved (drain); the process exits 0 right after
// A load child runs until it is killed (or its stdin closes: exit code 3). Anything unexpected: a
// message on stderr and exit code 1.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Supervisor } from 'troupe';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string' },
    journal: { type: 'string' },
    effects: { type: 'string' },
    batch: { type: 'string', default: '2' },
    every: { type: 'string', default: '10' },
    'work-ms': { type: 'string', default: '0-20' },
    'max-backlog': { type: 'string', default: '200' },
    timeout: { type: 'string', default: '60000' },
  },
});

function fail(message, err) {
  process.stderr.write(`chaos child (${args.mode ?? '?'}, pid ${process.pid}): ${message}${err ? `\n${err.stack ?? err}` : ''}\n`, () =>
    process.exit(1),
  );
}

/** One line on stdout; `done` is called once it is handed to the OS. */
function out(line, done) {
  process.stdout.write(`${line}\n`, done);
}

// The harness holds this process's stdin open: if the harness dies (or a test times out), stdin ends
// and this process goes too, rather than loading a journal nobody watches for ever.
if (!process.stdin.isTTY) {
  process.stdin.on('end', () => process.exit(3));
  process.stdin.resume();
}

if (args.mode !== 'load' && args.mode !== 'drain') fail(`--mode must be load or drain (got ${args.mode})`);
else if (!args.journal || !args.effects) fail('--journal and --effects are required');
else main().catch((err) => fail('unexpected error', err));

async function main() {
  const sup = await Supervisor.start({
    journal: args.journal,
    durability: 'fsync',
    // Keep every finished task: the harness checks all of them in the journal at the end.
    retention: { maxAgeMs: 365 * 24 * 3600 * 1000, maxFinished: 1_000_000_000, intervalMs: 3_600_000 },
    pool: { minThreads: 2, maxThreads: 4, concurrentTasksPerWorker: 4 },
    agents: { record: { module: join(dirname(fileURLToPath(import.meta.url)), 'record-agent.mjs') } },
  });
  const { recovery } = sup.snapshot();
  out(`ready ${JSON.stringify({ pid: process.pid, recovery })}`);
  if (args.mode === 'load') await load(sup);
  else await drain(sup);
}

/** Submits `batch` tasks every `every` ms, for ever, while the backlog stays under `max-backlog`. */
async function load(sup) {
  const batch = Number(args.batch);
  const every = Number(args.every);
  const maxBacklog = Number(args['max-backlog']);
  const [lo, hi] = args['work-ms'].split('-').map(Number);
  let n = 0;
  for (;;) {
    const snap = sup.snapshot();
    if (snap.queue.depth + snap.running < maxBacklog) {
      const submits = [];
      for (let i = 0; i < batch; i += 1) {
        const workMs = lo + Math.floor(Math.random() * ((hi ?? lo) - lo + 1));
        const input = { effects: args.effects, workMs, n: n++, pid: process.pid };
        // Printed only once submit() resolved, that is once the submission is committed.
        submits.push(sup.submit({ agent: 'record', input }).then((id) => out(`accepted ${id}`)));
      }
      await Promise.all(submits);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Submits nothing; waits until nothing is queued or running, then shuts down cleanly. */
async function drain(sup) {
  const timeoutMs = Number(args.timeout);
  const idle = () => {
    const s = sup.snapshot();
    return s.queue.depth === 0 && s.running === 0;
  };
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const s = sup.snapshot();
      reject(new Error(`not drained after ${timeoutMs} ms: queue depth ${s.queue.depth}, running ${s.running}`));
    }, timeoutMs);
    const poll = setInterval(check, 20);
    const sub = sup.events$.subscribe(check);
    function check() {
      if (!idle()) return;
      clearTimeout(timer);
      clearInterval(poll);
      queueMicrotask(() => sub.unsubscribe());
      resolve();
    }
    check();
  });
  const { counters, recovery } = sup.snapshot();
  out(`drained ${JSON.stringify({ counters, recovery })}`);
  const report = await sup.shutdown({ timeoutMs: 5_000 });
  out(`stopped ${JSON.stringify(report)}`, () => process.exit(0));
}
