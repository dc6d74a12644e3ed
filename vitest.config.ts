import { defineConfig } from 'vitest/config';

// Two projects: unit tests run in parallel and need no privileges beyond tmp dirs;
// integration tests start real berthd daemons (root, namespaces, cgroups, overlay) and
// run one file at a time so their resource checks do not see each other.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});
