// Commits numbered groups into a journal until killed: `node crash-child.mjs <file> <durability> <first group>`.
// Group g inserts 5 tasks g<g>-t0..t4, updates g<g-1>-t1 (succeeded, result {by: g}), logs a start of
// g<g>-t0 at g and sets breaker g<g>. After each group's sync it prints `committed <g>`.
import { Journal } from '../../dist/engine/journal/journal.js';

const [path, durability, first] = process.argv.slice(2);
const journal = Journal.open(path, durability);
const PAD = 'x'.repeat(3_000); // several pages per group, so a kill may land inside one

const task = (g, i) => ({
  id: `g${g}-t${i}`, seq: g * 10 + i, agent: 'crash', kind: 'module', priority: 'normal', resources: ['r'],
  input: { g, i, pad: PAD }, state: 'queued', attempt: 0, submittedAt: g,
});

function commit(g) {
  const tasks = [];
  for (let i = 0; i < 5; i += 1) tasks.push({ task: task(g, i), insert: true, blobs: new Set(['input', 'checkpoint', 'result']), fence: null });
  if (g > 1) {
    const prev = { ...task(g - 1, 1), state: 'succeeded', finishedAt: g, result: { by: g, pad: PAD } };
    tasks.push({ task: prev, insert: false, blobs: new Set(['result']), fence: null });
  }
  const breakers = new Map([[`g${g}`, { state: 'open', forced: false, openedAt: g, resetTimeoutMs: g }]]);
  journal.commit({ tasks, log: [{ taskId: `g${g}-t0`, type: 'started', attempt: 1, at: g, detail: `group ${g}` }], breakers });
}

let g = Number(first);
function next() {
  commit(g);
  journal.sync((err) => {
    if (err !== null) {
      process.stderr.write(`sync failed: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`committed ${g}\n`);
    g += 1;
    setImmediate(next);
  });
}
process.stdout.write(`ready ${journal.incarnation}\n`);
next();
