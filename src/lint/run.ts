import YAML from 'yaml'
import {AptOstreeError, UsageError} from '../errors.js'
import {printable} from '../text.js'
import {didYouMean} from '../treefile/suggest.js'
import type {LintType, RootKind} from './rule.js'
import {LINT_RULES} from './rules/index.js'
import type {FileTree} from '../file-tree.js'

/** bootc prints this many items of a finding unless --no-truncate. */
export const TRUNCATED_ITEMS = 5

export interface LintOptions {
  rootKind: RootKind
  /** Rule names not to run. */
  skip?: string[]
  /** Warnings fail the lint too. */
  fatalWarnings?: boolean
}

export interface LintFinding {
  rule: string
  type: LintType
  message: string
  items: string[]
}

export interface LintResult {
  /** In rule order; a rule may report more than one kind of problem. */
  findings: LintFinding[]
  /** Rules that ran and found nothing. */
  passed: number
  /** Rules skipped by name or not applying to this kind of root. */
  skipped: number
  /** Rules that warned. */
  warnings: number
  /** Fatal rules that failed. */
  fatal: number
  /** What fails the lint (bootc's "Checks failed"): the fatal ones, and the warnings with fatalWarnings. */
  failed: number
}

/** A UsageError for rule names that do not exist. */
export function checkRuleNames(names: string[]): void {
  const known = LINT_RULES.map((rule) => rule.name)
  const unknown = names.find((name) => !known.includes(name))
  if (unknown !== undefined) throw new UsageError(`unknown lint rule "${unknown}"${didYouMean(unknown, known)}; --list shows the rules`)
}

/** Run every rule that applies, in name order, as `bootc container lint` does. */
export async function runLint(tree: FileTree, options: LintOptions): Promise<LintResult> {
  const skip = options.skip ?? []
  checkRuleNames(skip)
  const result: LintResult = {findings: [], passed: 0, skipped: 0, warnings: 0, fatal: 0, failed: 0}
  for (const rule of LINT_RULES) {
    if (skip.includes(rule.name) || (rule.roots && !rule.roots.includes(options.rootKind))) {
      result.skipped++
      continue
    }
    const problems = await rule.check(tree).catch((error: unknown) => {
      // A tree the rule cannot read is the tree's problem, named as bootc names it.
      if (error instanceof AptOstreeError || (error as NodeJS.ErrnoException).code) throw new AptOstreeError(`Unexpected runtime error running lint ${rule.name}: ${(error as Error).message}`)
      throw error
    })
    if (problems.length === 0) {
      result.passed++
      continue
    }
    result.findings.push(...problems.map(({message, items}) => ({rule: rule.name, type: rule.type, message, items})))
    if (rule.type === 'fatal') result.fatal++
    else result.warnings++
  }
  result.failed = result.fatal + (options.fatalWarnings ? result.warnings : 0)
  return result
}

/**
 * A message or item of a finding as a report line shows it: they quote the
 * tree's file names, link targets and lines, so what would act on a
 * terminal (an OSC 52 clipboard write, a carriage return over the line) is
 * written as an escape, and so is a newline, which would start a line of
 * the tree's own ("Checks passed"). `--json` keeps the raw findings.
 */
function shown(text: string): string {
  return printable(text).replaceAll('\n', '\\n')
}

function formatItems(items: string[], truncate: boolean): string[] {
  const listed = truncate ? items.slice(0, TRUNCATED_ITEMS) : items
  return [...listed.map((item) => `  ${shown(item)}`), ...(listed.length < items.length ? [`  ...and ${items.length - listed.length} more`] : [])]
}

/**
 * The report as bootc prints it: "Failed lint: NAME: message" or "Lint
 * warning: NAME: message", the items below (5 unless `truncate` is false),
 * then the counts.
 */
export function formatLintReport(result: LintResult, {truncate = true}: {truncate?: boolean} = {}): string {
  const lines: string[] = []
  result.findings.forEach((finding, index) => {
    const heading = `${shown(finding.message)}${finding.items.length > 0 ? ':' : ''}`
    // A rule's further problems continue its paragraph.
    const continues = index > 0 && result.findings[index - 1].rule === finding.rule
    lines.push(continues ? heading : `${finding.type === 'fatal' ? 'Failed lint' : 'Lint warning'}: ${finding.rule}: ${heading}`, ...formatItems(finding.items, truncate))
  })
  lines.push(`Checks passed: ${result.passed}`)
  if (result.skipped > 0) lines.push(`Checks skipped: ${result.skipped}`)
  if (result.warnings > 0) lines.push(`Warnings: ${result.warnings}`)
  return lines.join('\n')
}

export interface RuleDescription {
  name: string
  type: LintType
  description: string
  roots?: RootKind[]
}

/** The rules as `--list` shows them. */
export function describeRules(): RuleDescription[] {
  return LINT_RULES.map(({name, type, description, roots}) => ({name, type, description, ...(roots ? {roots} : {})}))
}

/** `--list` as bootc prints it: YAML. */
export function formatRuleList(): string {
  return YAML.stringify(describeRules(), {lineWidth: 0}).trimEnd()
}
