import {failureAt, originOf} from '../../treefile/index.js'
import type {TreeStep} from '../step.js'

/** The feature list of `ostree --version` (YAML: ` Features:` then `  - name` lines). */
export function ostreeFeatures(versionOutput: string): string[] {
  const list = versionOutput.split(/^\s*Features:\s*$/m)[1] ?? ''
  return [...list.matchAll(/^\s*- (\S+)\s*$/gm)].map((match) => match[1])
}

/**
 * `/usr/lib/ostree/prepare-root.conf` from `composefs`. A value the tree's own
 * ostree cannot honour fails here, before dracut copies the file into the
 * initramfs: a deploy would fail with "support is not compiled in".
 */
export const prepareRoot: TreeStep = {
  name: 'prepare-root.conf',
  async run(context) {
    const composefs = context.resolved.treefile.composefs as string
    if (composefs === 'yes' || composefs === 'verity') {
      const {stdout} = await context.sandbox.runInTree(context.root, ['ostree', '--version'], {log: context.log, signal: context.signal, label: 'ostree --version in the tree'})
      if (!ostreeFeatures(stdout).includes('composefs')) {
        const version = /Version: '([^']+)'/.exec(stdout)?.[1] ?? 'unknown'
        throw failureAt(originOf(context.resolved, 'composefs'), `composefs: ${composefs} needs an ostree built with composefs, but the tree's ostree ${version} lists no composefs feature (use "no" or "maybe")`)
      }
    }
    await context.tree.write('/usr/lib/ostree/prepare-root.conf', `[composefs]\nenabled = ${composefs}\n\n[sysroot]\nreadonly = true\n`)
  },
}
