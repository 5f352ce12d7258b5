/** `troupe bench`: placeholder replaced below. */
export async function runBenchCli(_args: string[]): Promise<number> {
  process.stderr.write('troupe bench: not built yet\n');
  return 1;
}
