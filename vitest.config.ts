import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Redis for the run: a private redis-server when installed, else REDIS_URL (see the file).
    globalSetup: ['test/stores/redis-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      // Runs in the browser, embedded in the page (test/http/dashboard/page.test.ts drives it in Chromium).
      exclude: ['src/http/dashboard/client.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 90 },
    },
  },
});
