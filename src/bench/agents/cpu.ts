import { defineAgent } from 'troupe/agent';
import { cpuWork } from './cpu-work.js';

/** Runs the fixed CPU work for the seed it is given and returns its checksum (bench workload `cpu`). */
export default defineAgent(async (seed: number) => cpuWork(seed));
