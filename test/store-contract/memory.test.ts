// The memory store against the Store contract: one backend per test, stores opened over it one after another.
import { onTestFinished } from 'vitest';
import { MemoryBackend, MemoryStore } from '../../dist/engine/journal/memory-store.js';
import type { Store } from '../../dist/engine/journal/store.js';
import { storeContract, type StoreFactory } from './contract.js';

storeContract('MemoryStore', (): StoreFactory => {
  const backend = new MemoryBackend();
  const opened: Store[] = [];
  onTestFinished(() => opened.forEach((s) => s.close()));
  const open = (): Store => {
    const store = new MemoryStore(backend);
    opened.push(store);
    return store;
  };
  // No crash: a memory store that was not closed keeps its backend (there is no process to kill).
  return { open, reopen: (store) => (store.close(), open()) };
});
