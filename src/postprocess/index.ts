import {addFiles, removeFiles, removeFromPackages} from './customize/files.js'
import {mutateOsRelease} from './customize/os-release.js'
import {remoteConfig} from './customize/remote.js'
import {postprocessScripts} from './customize/scripts.js'
import {enableUnits, setDefaultTarget} from './customize/systemd.js'
import {etcToUsrEtc, readonlyExecutables, specialFiles, treefileJson} from './ostreeify/cleanup.js'
import {dpkgDatabase} from './ostreeify/dpkg.js'
import {kernel} from './ostreeify/kernel.js'
import {prepareRoot} from './ostreeify/prepare-root.js'
import {sysusers} from './ostreeify/sysusers.js'
import {topLevel} from './ostreeify/toplevel.js'
import {varToTmpfiles} from './ostreeify/var.js'
import type {TreeStep} from './step.js'

export {runSteps, type StageContext, type TreeStep} from './step.js'

/** The treefile applied to the bootstrapped tree, in rpm-ostree's order. */
export const CUSTOMIZE_STEPS: readonly TreeStep[] = [mutateOsRelease, removeFiles, removeFromPackages, addFiles, remoteConfig, enableUnits, setDefaultTarget, postprocessScripts]

/**
 * The Debian tree made an OSTree one (docs/architecture.md). Order matters:
 * prepare-root.conf before dracut (the initramfs carries it), dracut and
 * sysusers while /etc is still /etc, the top-level tmpfiles before /var's (so
 * /var's skips what they declare), /etc last.
 */
export const OSTREEIFY_STEPS: readonly TreeStep[] = [
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
