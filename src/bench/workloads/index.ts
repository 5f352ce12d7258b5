import type { Workload } from '../harness.js';
import { burst } from './burst.js';
import { durability } from './durability.js';
import { failures } from './failures.js';
import { faults } from './faults.js';
import { noop } from './noop.js';
import { recovery } from './recovery.js';

/** Every workload `troupe bench` knows, in the order it runs them by default. */
export const WORKLOADS: readonly Workload[] = [noop, failures, faults, burst, durability, recovery];

export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
