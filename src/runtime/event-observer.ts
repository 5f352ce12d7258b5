// `Supervisor.start({ onEvent })`: public events from the runtime's first message on, `recovered` included.
import type { Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { Message } from '../core/messages.js';
import type { TaskView } from '../core/views.js';
import { fieldError } from '../core/errors.js';
import { toPublicEvents, type TroupeEvent } from './events.js';

export interface EventOptions {
  /**
   * Called with every event from the start on, before `start()` resolves: what `events$` shows
   * later, plus what happens during start (`recovered`). A callback that throws is logged, never
   * stops the runtime.
   */
  onEvent?: (event: TroupeEvent) => void;
}

/** The observer `SupervisorActor.start` subscribes before recovery; undefined without `onEvent`. */
export function eventObserver(onEvent: unknown, logger: Logger): ((messages$: Observable<Message>, tasks: TaskView) => void) | undefined {
  if (onEvent === undefined) return undefined;
  if (typeof onEvent !== 'function') throw fieldError('TROUPE_INVALID_OPTIONS', 'options.onEvent', 'must be a function', onEvent);
  const log = logger.child({ actor: 'events' });
  return (messages$, tasks) => {
    const taskOf = (id: string): { agent: string; attempt: number; parentId?: string } => tasks.get(id) ?? { agent: '', attempt: 0 };
    messages$.subscribe((msg) => {
      for (const event of toPublicEvents(msg, taskOf)) {
        try {
          (onEvent as (event: TroupeEvent) => void)(event);
        } catch (err) {
          log.error({ err, event: event.type }, 'onEvent threw');
        }
      }
    });
  };
}
