import {emulationEnvironment} from '../../arch.js'
import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {ToolError} from '../../errors.js'
import type {TreeStep} from '../step.js'
import {failureAt, originOf} from '../../treefile/index.js'
import type {Located} from '../../treefile/location.js'

interface Script {
  name: string
  file: string
  origin: Located
}

/**
 * `postprocess` (inline, included files' first) then `postprocess-script`,
 * each in bubblewrap with the tree as `/`: no network, fresh /tmp,
 * SOURCE_DATE_EPOCH and LANG set. The script is bound in read-only under
 * /tmp, so nothing of it stays in the tree.
 */
export const postprocessScripts: TreeStep = {
  name: 'postprocess scripts',
  async run(context) {
    const {resolved} = context
    const directory = await mkdtemp(path.join(context.scratch, 'postprocess-'))
    try {
      const scripts: Script[] = []
      for (const [index, text] of (resolved.treefile.postprocess ?? []).entries()) {
        const file = path.join(directory, `inline-${index}`)
        await writeFile(file, text.startsWith('#!') ? text : `#!/bin/sh\nset -e\n${text}`)
        await chmod(file, 0o755)
        scripts.push({name: `postprocess script ${index + 1}`, file, origin: originOf(resolved, 'postprocess', index)})
      }
      if (resolved.postprocessScript) {
        scripts.push({name: `postprocess-script ${path.basename(resolved.postprocessScript)}`, file: resolved.postprocessScript, origin: originOf(resolved, 'postprocess-script')})
      }
      for (const script of scripts) {
        context.progress(script.name)
        const inside = `/tmp/apt-ostree-${path.basename(script.file)}`
        await context.sandbox.runInTree(context.root, [inside], {
          treeReadOnly: [[script.file, inside]],
          setenv: {SOURCE_DATE_EPOCH: String(context.sourceDateEpoch), ...emulationEnvironment(context.resolved.arch)},
          log: context.log,
          signal: context.signal,
          label: script.name,
          onLine: context.progress,
        }).catch((error: unknown) => {
          if (!(error instanceof ToolError)) throw error
          throw failureAt(script.origin, error.message, error.details)
        })
      }
    } finally {
      await rm(directory, {recursive: true, force: true})
    }
  },
}
