import type {FileTree} from '../file-tree.js'

/** bootc's classification: a fatal finding means the image will not install or will not work. */
export type LintType = 'fatal' | 'warning'

/**
 * What is being linted: a rootfs directory, the layers of an image, or the
 * running system's own root (`/`), which bootc calls the running root.
 */
export type RootKind = 'rootfs' | 'image' | 'running'

/** One kind of problem a rule found, with the paths (or lines) that show it. */
export interface LintProblem {
  message: string
  items: string[]
}

export interface LintRule {
  name: string
  type: LintType
  description: string
  /** The root kinds the rule applies to; all when absent. */
  roots?: RootKind[]
  /** Files whose content the rule reads: an image loader keeps these in memory. */
  reads?: RegExp[]
  /** The problems found; none when the tree passes. */
  check(tree: FileTree): Promise<LintProblem[]>
}

/** `[{message, items}]` when there are items, else no problem. */
export function problemIf(message: string, items: string[]): LintProblem[] {
  return items.length > 0 ? [{message, items}] : []
}

/** A problem that a message says entirely. */
export function problem(message: string): LintProblem[] {
  return [{message, items: []}]
}

type RuleOptions = Pick<LintRule, 'roots' | 'reads'>

/** A rule whose failure means the system will not install or will not work (bootc's Lint::new_fatal). */
export function fatal(name: string, description: string, check: LintRule['check'], options: RuleOptions = {}): LintRule {
  return {name, type: 'fatal', description, ...options, check}
}

/** A rule for something to fix that does not break the system (bootc's Lint::new_warning). */
export function warning(name: string, description: string, check: LintRule['check'], options: RuleOptions = {}): LintRule {
  return {name, type: 'warning', description, ...options, check}
}
