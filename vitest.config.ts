import { defineConfig } from 'vitest/config';

// Tests import the built package (dist/), the code users run: `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Ceilings, not budgets: a test waits on conditions and asserts no elapsed time, so these only
    // end a test that is stuck. Generous, because on a loaded machine (CI on 2 cores, a load average
    // of 15 and more) honest work takes several times as long as on an idle one.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    // The machines have 2 cores: a test that waits on a condition may wait while others run.
    reporters: ['default'],
    // Crash tests log on purpose; keep the output readable. Set TROUPE_LOG_LEVEL to see them.
    env: { TROUPE_LOG_LEVEL: process.env.TROUPE_LOG_LEVEL ?? 'silent' },
  },
});
