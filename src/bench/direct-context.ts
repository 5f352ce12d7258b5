// A handler context for calling a module agent's handler directly on the main thread (the in-process baselines).
import type { AgentContext } from '../index.js';

const noChildren = (): Promise<never> => Promise.reject(new Error('child tasks need a runtime: not available to a handler called directly'));

export function directContext(signal: AbortSignal): AgentContext {
  return {
    taskId: 'direct',
    attempt: 1,
    checkpoint: undefined,
    parents: {},
    managerId: undefined,
    workdir: undefined,
    signal,
    progress: () => {},
    heartbeat: () => {},
    log: () => {},
    submit: noChildren,
    submitGraph: noChildren,
    wait: noChildren,
    distribute: noChildren,
  };
}
