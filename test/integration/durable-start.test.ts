import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStore, SupervisorActor } from '../../dist/engine/supervisor-actor.js';
import type { Store } from '../../dist/engine/journal/store.js';
import { resolveOptions } from '../../dist/runtime/options.js';
import { validateSubmission } from '../../dist/runtime/submit.js';
import { agentPath, tempDir, waitFor } from '../helpers.js';

/**
 * The real SQLite journal under 'fsync', whose fdatasyncs complete only when the test says so (a
 * disk that is slow to sync): everything else is the journal's own.
 */
function heldSyncs(options: Parameters<typeof openStore>[0]): { open: typeof openStore; release(): void } {
  const held: (() => void)[] = [];
  let holding = true;
  let store: Store | undefined;
  const open = (o: typeof options): Store => {
    const real = openStore(o);
    store = new Proxy(real, {
      get(target, prop) {
        if (prop === 'sync') {
          return (done: Parameters<Store["sync"]>[0]) => {
            if (!holding) return target.sync(done);
            held.push(() => target.sync(done));
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return store;
  };
  return {
    open,
    release() {
      holding = false;
      for (const run of held.splice(0)) run();
    },
  };
}

describe('a run starts only once its start is durable', () => {
  it('the handler does not run while the fdatasync covering its start is outstanding, and runs once it completes', async () => {
    const dir = tempDir();
    const log = join(dir, 'runs.log');
    const options = resolveOptions({
      agents: { counted: { module: agentPath('counted') } },
      journal: join(dir, 'journal.db'),
      durability: 'fsync',
      pool: { minThreads: 2, maxThreads: 2 },
    });
    const syncs = heldSyncs(options);
    const root = await SupervisorActor.start(options, syncs.open);
    onTestFinished(async () => {
      syncs.release();
      await root.shutdown(10_000);
    });

    let accepted: string | undefined;
    void root.intake.submit(validateSubmission({ agent: 'counted', input: { log, value: 7 } }, options)).then((id) => (accepted = id));
    // The submission and its start are committed (the committed view shows it running) ...
    await waitFor(() => [...root.ledger.all()].some((t) => t.attempt >= 1), 'start committed');
    // ... but not durable: not acknowledged, and nothing ran. Give a wrongly launched run ample time to show.
    await new Promise((r) => setTimeout(r, 500));
    expect(accepted).toBeUndefined();
    expect(existsSync(log)).toBe(false);

    syncs.release();
    await waitFor(() => accepted !== undefined, 'submission acknowledged');
    await waitFor(() => root.ledger.get(accepted!)?.state === 'succeeded', 'task succeeded');
    expect(readFileSync(log, 'utf8')).toBe('7\n');
  });
});
