import {defineConfig} from 'vitest/config'

// Two projects: fast unit tests, then the integration tests that run the real
// tools (mmdebstrap, bwrap, ostree, skopeo, qemu) against the Debian archive.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
          fileParallelism: false,
          sequence: {concurrent: false},
        },
      },
    ],
  },
})
