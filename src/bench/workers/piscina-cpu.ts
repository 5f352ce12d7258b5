/** Raw Piscina worker for the `cpu` baseline: the same fixed CPU work as the Troupe agent. */
import { cpuWork } from '../agents/cpu-work.js';

export default (seed: number): number => cpuWork(seed);
