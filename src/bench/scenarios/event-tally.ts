/**
 * The runtime's own account of a scenario, from `events$`: every task event that starts or ends a
 * run, in the order it arrived. Scenarios hold it against what the harness and the agents saw.
 */
import type { Supervisor, TroupeEvent } from '../../index.js';

const KINDS = ['started', 'succeeded', 'failed', 'dead', 'cancelled', 'requeued'] as const;
export type RunEventType = (typeof KINDS)[number];

export interface RunEvent {
  type: RunEventType;
  taskId: string;
  at: number;
  /** `failed` only: the task will run again. */
  retried?: boolean;
}

export class EventTally {
  /** Every run event, in arrival order. */
  readonly events: RunEvent[] = [];
  private readonly stop: () => void;

  constructor(sup: Supervisor) {
    const subscription = sup.events$.subscribe((e: TroupeEvent) => {
      if (!(KINDS as readonly string[]).includes(e.type) || !('taskId' in e)) return;
      const event: RunEvent = { type: e.type as RunEventType, taskId: e.taskId, at: e.at };
      if (e.type === 'failed') event.retried = !e.dead;
      this.events.push(event);
    });
    this.stop = () => subscription.unsubscribe();
  }

  close(): void {
    this.stop();
  }

  count(type: RunEventType): number {
    return this.events.filter((e) => e.type === type).length;
  }

  /** Terminal events ('succeeded', 'dead', 'cancelled') per task: exactly one each is the contract. */
  terminalsByTask(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.events) {
      if (e.type === 'succeeded' || e.type === 'dead' || e.type === 'cancelled') out.set(e.taskId, (out.get(e.taskId) ?? 0) + 1);
    }
    return out;
  }

  /** The first event of `type` for `taskId`, if any. */
  first(taskId: string, type: RunEventType): RunEvent | undefined {
    return this.events.find((e) => e.taskId === taskId && e.type === type);
  }
}

/** Tasks among `ids` without exactly one terminal event, plus terminal events of tasks not in `ids`. */
export function terminalAnomalies(tally: EventTally, ids: readonly string[]): number {
  const terminals = tally.terminalsByTask();
  const ours = new Set(ids);
  let anomalies = 0;
  for (const id of ours) if (terminals.get(id) !== 1) anomalies += 1;
  for (const id of terminals.keys()) if (!ours.has(id)) anomalies += 1;
  return anomalies;
}

/** Lets events published in this turn arrive before they are counted. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
