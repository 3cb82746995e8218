import { defineConfig } from 'vitest/config';

// `npm run test:browser`: the page in a real browser (Playwright driving Debian's chromium).
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
