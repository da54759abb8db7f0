import {defineConfig} from 'vitest/config'
import {BaseSequencer, type TestSpecification} from 'vitest/node'

const integrationTimeouts = {testTimeout: 30 * 60_000, hookTimeout: 30 * 60_000}

// The integration files that compose into the shared test cache
// (.cache/test), one at a time: a cache takes one compose at once, and they
// reuse each other's bootstrapped trees there.
const sharedCache = ['test/compose/tree.int.test.ts', 'test/vm/*.int.test.ts', 'test/treefiles/*.int.test.ts']
// Files with caches of their own that run in the shared-cache lane anyway,
// to even out the two lanes (measured in one fresh-clone .ci/run: own-cache
// 2 428 s, shared-cache 2 216 s with build-image; 3 088 s and 2 525 s before;
// then own-cache 3 170 s, shared-cache 2 887 s, before hostile moved and grew
// by its attacks on disk-image, vm boot and vm upgrade).
const evenOut = ['test/workflows/build-image.int.test.ts', 'test/sandbox/hostile.int.test.ts']

// The treefile family's boots come last in their lane, when more of the
// other lane is done and a software-emulated boot gets more of the CPU.
// (Their "stalls" were console lines lost around the serial getty's start,
// not slow boots: see src/vm/guest-report.ts.)
const BOOTS_LAST = ['test/treefiles/family.int.test.ts']

class BootsLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const last = (file: TestSpecification): boolean => BOOTS_LAST.some((name) => file.moduleId.endsWith(name))
    return [...sorted.filter((file) => !last(file)), ...sorted.filter(last)]
  }
}

// Fast unit tests first; then the integration tests that run the real tools
// (mmdebstrap, bwrap, ostree, skopeo, qemu) against the Debian archive, in
// two lanes that scripts/test-integration.sh runs side by side, each file by
// file: the files that share the test cache, and the files that each make
// their own. A boot under software emulation keeps one core busy for
// minutes; two lanes keep both cores of a CI runner at work.
export default defineConfig({
  test: {
    sequence: {sequencer: BootsLast},
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts'],
          testTimeout: 30_000,
          // Vitest's default is one worker on a 2-core runner, and half the
          // machine idles while tests wait on the CLI processes they start
          // (measured here: 63 s with one worker, 40 s with two).
          maxWorkers: 2,
          // Its ESM imports a JSON file without `with {type: 'json'}`, which
          // Node 20 refuses; inlined, vite transforms it.
          server: {deps: {inline: ['@actions/workflow-parser']}},
        },
      },
      {
        test: {
          name: 'integration-shared-cache',
          include: [...sharedCache, ...evenOut],
          ...integrationTimeouts,
          fileParallelism: false,
          sequence: {concurrent: false},
        },
      },
      {
        test: {
          name: 'integration-own-cache',
          include: ['test/**/*.int.test.ts'],
          exclude: [...sharedCache, ...evenOut],
          ...integrationTimeouts,
          fileParallelism: false,
          sequence: {concurrent: false},
        },
      },
    ],
  },
})
