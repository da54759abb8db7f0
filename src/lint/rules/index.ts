import type {LintRule} from '../rule.js'
import {apiBaseDirectories, buildahInjected, debianDpkgDatabase, debianOpt, etcUsrEtc, nonemptyBoot, nonemptyRunTmp, utf8, varLog, varRun} from './filesystem.js'
import {baseimageComposefs, baseimageRoot, bootcKargs, kernel} from './ostree.js'
import {sysusers} from './sysusers.js'
import {varTmpfiles} from './tmpfiles.js'

/** bootc's 14 rules, with bootc's names and severities, and apt-ostree's Debian ones, sorted by name as they run. */
export const LINT_RULES: readonly LintRule[] = [
  apiBaseDirectories,
  baseimageComposefs,
  baseimageRoot,
  bootcKargs,
  buildahInjected,
  debianDpkgDatabase,
  debianOpt,
  etcUsrEtc,
  kernel,
  nonemptyBoot,
  nonemptyRunTmp,
  sysusers,
  utf8,
  varLog,
  varRun,
  varTmpfiles,
].sort((a, b) => (a.name < b.name ? -1 : 1))

/** Whether some rule reads the file at this path (so an image loader keeps its content). */
export function isLintInput(file: string): boolean {
  return LINT_RULES.some((rule) => rule.reads?.some((pattern) => pattern.test(file)))
}
