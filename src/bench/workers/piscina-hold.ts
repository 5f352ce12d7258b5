import { existsSync } from 'node:fs';

/** Raw Piscina worker for the `burst` baseline: waits until the file `input.gate` exists. */
export default async (input: { gate: string }): Promise<null> => {
  while (!existsSync(input.gate)) await new Promise((r) => setTimeout(r, 5));
  return null;
};
