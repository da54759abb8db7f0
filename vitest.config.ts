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
          // Its ESM imports a JSON file without `with {type: 'json'}`, which
          // Node 20 refuses; inlined, vite transforms it.
          server: {deps: {inline: ['@actions/workflow-parser']}},
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
