import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

const shared = fileURLToPath(new URL('./electron/shared', import.meta.url));

// Projects: unit tests run in parallel and need no privileges beyond tmp dirs; renderer tests
// mount Vue components in happy-dom against an in-memory bridge; integration tests start real
// berthd daemons (root, namespaces, cgroups, overlay) and run one file at a time so their
// resource checks do not see each other; e2e tests drive Debian's Chromium against browser mode
// and a real berthd, also one file at a time.
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
        plugins: [vue()],
        resolve: { alias: { '@shared': shared } },
        test: {
          name: 'renderer',
          include: ['tests/renderer/**/*.test.ts'],
          environment: 'happy-dom',
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
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          // After the other projects (group 0), so a browser and two berthds do not compete for CPU.
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          pool: 'forks',
        },
      },
    ],
  },
});
