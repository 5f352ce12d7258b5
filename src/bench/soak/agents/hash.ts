import { defineAgent } from 'troupe/agent';
import { chainDigest, type HashInput } from '../outcomes.js';

/** The soak's steady module agent: a short chain of SHA-256 (a little CPU on a pool thread); never fails. */
export default defineAgent(async (input: HashInput) => chainDigest(input));
