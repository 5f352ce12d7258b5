import type { Workload } from '../harness.js';
import { burst } from './burst.js';
import { cpu } from './cpu.js';
import { daemon } from './daemon/index.js';
import { distribution } from './distribution.js';
import { durability } from './durability.js';
import { failures } from './failures.js';
import { graph } from './graph.js';
import { faults } from './faults.js';
import { io } from './io.js';
import { noop } from './noop.js';
import { recovery } from './recovery.js';
import { scenarios } from './scenarios.js';
import { workspace } from './workspace.js';

/** Every workload `troupe bench` knows, in the order it runs them by default. */
export const WORKLOADS: readonly Workload[] = [noop, failures, faults, burst, durability, recovery, io, cpu, graph, daemon, scenarios, distribution, workspace];

export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
