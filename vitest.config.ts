import { defineConfig } from 'vitest/config';

// Tests import the built package (dist/), the code users run: `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    maxWorkers: 2,
    // The machines have 2 cores: a test that waits on a condition may wait while others run.
    reporters: ['default'],
    // Crash tests log on purpose; keep the output readable. Set TROUPE_LOG_LEVEL to see them.
    env: { TROUPE_LOG_LEVEL: process.env.TROUPE_LOG_LEVEL ?? 'silent' },
  },
});
