import type { Message } from '../core/messages.js';
import type { Ledger } from './ledger.js';
import type { Clock } from '../core/clock.js';
import type { Store } from './journal/store.js';

export interface RecoverySummary {
  /** Tasks that were running under a dead incarnation and go back to the queue. */
  requeued: number;
  /** Tasks that were queued (or waiting for a retry) and resume as they were. */
  queued: number;
  /** Finished tasks whose results stay readable. */
  finished: number;
}

/**
 * Loads every task of the journal into the ledger. A task that was running when the previous
 * incarnation died is put back in the queue (reason `recovered`); its next run is attempt + 1, so
 * execution is at least once. Queued tasks resume in priority and FIFO order (the Queue's rebuild).
 */
export function recover(ledger: Ledger, store: Store, publish: (msg: Message) => void, clock: Clock): RecoverySummary {
  const summary: RecoverySummary = { requeued: 0, queued: 0, finished: 0 };
  const at = clock.now();
  const { tasks, breakers, intakes } = store.load();
  for (const [key, record] of breakers) ledger.loadBreaker(key, record);
  for (const [agent, record] of intakes) ledger.loadIntake(agent, record);
  for (const task of tasks) {
    ledger.load(task);
    if (task.state === 'running') {
      summary.requeued += 1;
      publish({ type: 'task.requeued', taskId: task.id, reason: 'recovered', at });
    } else if (task.state === 'queued' || task.state === 'delayed') {
      summary.queued += 1;
    } else {
      summary.finished += 1;
    }
  }
  return summary;
}
