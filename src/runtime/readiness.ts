// Readiness: does work really run now? A no-op job through a pool thread, with intake open and the journal writable.
import { randomUUID } from 'node:crypto';
import { filter, firstValueFrom } from 'rxjs';
import type { Message } from '../core/messages.js';
import type { SupervisorActor } from '../engine/supervisor-actor.js';

export interface Readiness {
  ready: boolean;
  /** How long the probe took on its thread, when it ran. */
  probeMs?: number;
  /** Why it is not ready (empty when it is). */
  reasons: string[];
}

export async function probeReadiness(root: SupervisorActor, timeoutMs: number): Promise<Readiness> {
  const reasons: string[] = [];
  if (root.isStopping) reasons.push('shutting down');
  const writeError = root.journalInfo()?.writeError;
  if (writeError) reasons.push(`journal refuses writes (${writeError})`);
  const id = randomUUID();
  const answer = firstValueFrom(root.messages$.pipe(filter((m): m is Extract<Message, { type: 'pool.probed' }> => m.type === 'pool.probed' && m.id === id)), {
    defaultValue: undefined,
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)));
  root.publish({ type: 'pool.probe', id });
  const probed = await Promise.race([answer, late]).finally(() => clearTimeout(timer));
  if (probed === undefined) reasons.push(`no pool thread ran a probe within ${timeoutMs} ms`);
  else if (!probed.ok) reasons.push(`the pool failed a probe: ${probed.error}`);
  return { ready: reasons.length === 0, ...(probed?.ok ? { probeMs: probed.ms } : {}), reasons };
}
