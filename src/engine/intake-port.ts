// What the intake and the outcome waiters need of the engine's root: the ledger, the options, the bus.
import type { Observable } from 'rxjs';
import type { Message } from '../core/messages.js';
import type { ResolvedOptions } from '../core/config.js';
import type { Ledger } from './ledger.js';

export interface EnginePort {
  readonly ledger: Ledger;
  readonly options: ResolvedOptions;
  readonly messages$: Observable<Message>;
  publish(msg: Message): void;
  /** Resolves once `msg` is committed and durable; rejects if it was refused. */
  publishCommitted(msg: Message): Promise<void>;
  /** Resolves once task `id`'s submission is durable. */
  submissionDurable(id: string): Promise<void>;
  /** Runs `fn` once everything committed so far is durable; `fail` if it never will be. */
  afterDurable(fn: () => void, fail?: (err: Error) => void): void;
}
