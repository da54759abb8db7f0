import type {StageContext, TreeStep} from '../compose/context.js'
import {addFiles, removeFiles, removeFromPackages} from './customize/files.js'
import {mutateOsRelease} from './customize/os-release.js'
import {runPostprocessScripts} from './customize/scripts.js'
import {enableUnits, setDefaultTarget} from './customize/systemd.js'
import {etcToUsrEtc, readonlyExecutables, specialFiles, treefileJson} from './ostreeify/cleanup.js'
import {dpkgDatabase} from './ostreeify/dpkg.js'
import {kernel} from './ostreeify/kernel.js'
import {prepareRoot} from './ostreeify/prepare-root.js'
import {sysusers} from './ostreeify/sysusers.js'
import {topLevel} from './ostreeify/toplevel.js'
import {varToTmpfiles} from './ostreeify/var.js'

/** Apply the treefile to the bootstrapped tree, in rpm-ostree's order. */
export async function customize(context: StageContext, version: string | undefined, scratch: string): Promise<void> {
  await mutateOsRelease(context, version)
  await removeFiles(context)
  await removeFromPackages(context)
  await addFiles(context)
  await enableUnits(context)
  await setDefaultTarget(context)
  await runPostprocessScripts(context, scratch)
}

/**
 * Turn the Debian tree into an OSTree one (DESIGN section 4). Order matters:
 * prepare-root.conf before dracut (the initramfs carries it), dracut and
 * sysusers while /etc is still /etc, the top-level tmpfiles before /var's (so
 * /var's skips what they declare), /etc last.
 */
export const OSTREEIFY_STEPS: TreeStep[] = [
  specialFiles,
  prepareRoot,
  kernel,
  sysusers,
  readonlyExecutables,
  dpkgDatabase,
  topLevel,
  varToTmpfiles,
  treefileJson,
  etcToUsrEtc,
]

export async function ostreeify(context: StageContext): Promise<void> {
  for (const step of OSTREEIFY_STEPS) {
    context.progress(step.name)
    await step.run(context)
  }
}
