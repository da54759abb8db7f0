import {realpath} from 'node:fs/promises'
import path from 'node:path'
import {architectureNamed, hostArchitecture} from '../arch.js'
import {TreefileError, type Diagnostic} from '../errors.js'
import {ConditionError, evaluateCondition, type VariableValue} from './conditions.js'
import {fileStart, locate, pointer, type Located, type Origins} from './location.js'
import {emptyTree, mergeTrees, type Tree} from './merge.js'
import {applyDefaults, checkTreefile} from './semantic.js'
import {treefileSchema, validateAgainstSchema} from './schema.js'
import {parseTreefile} from './source.js'
import {SubstitutionError, substitute} from './substitute.js'
import type {ResolvedTreefile, TreefileConfig} from './types.js'

/** rpm-ostree's INCLUDE_MAXDEPTH. */
export const MAX_INCLUDE_DEPTH = 50
/** Variables the tool fills in; a treefile may not define them. */
const RESERVED_VARIABLES = ['basearch', 'arch', 'releasever']
/** Keys whose string values get `${var}` substitution (rpm-ostree's list, Debian's subset). */
const SUBSTITUTED_KEYS = ['ref', 'automatic-version-prefix', 'mutate-os-release']

function isStringOrStrings(value: unknown): value is string | string[] {
  return typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'))
}

function isVariables(value: unknown): value is Record<string, VariableValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => ['string', 'number', 'boolean'].includes(typeof item))
}

class Loader {
  readonly diagnostics: Diagnostic[] = []
  readonly files: string[] = []
  private readonly firstSeen = new Map<string, Located>()

  constructor(private readonly arch: string) {}

  private report(location: Located, message: string): void {
    this.diagnostics.push({location, message})
  }

  /** Load one file and everything it includes, merged; undefined when it could not be read. */
  async load(absolute: string, at: Located | undefined, chain: string[], inherited: Record<string, VariableValue>): Promise<Tree | undefined> {
    const real = await realpath(absolute).catch(() => absolute)
    const where = at ?? fileStart(absolute)
    if (chain.includes(real)) {
      const names = [...chain.slice(chain.indexOf(real)), real].map((file) => path.relative(process.cwd(), file))
      this.report(where, `include loop: ${names.join(' -> ')}`)
      return undefined
    }
    const first = this.firstSeen.get(real)
    if (first) {
      this.report(where, `${path.relative(process.cwd(), real)} is already included at ${first.file}:${first.line}:${first.col}`)
      return undefined
    }
    if (chain.length >= MAX_INCLUDE_DEPTH) {
      this.report(where, `includes nest deeper than ${MAX_INCLUDE_DEPTH} files`)
      return undefined
    }
    const parsed = await parseTreefile(absolute, where)
    if (!parsed.ok) {
      this.diagnostics.push(...parsed.diagnostics)
      return undefined
    }
    this.firstSeen.set(real, where)
    this.files.push(absolute)
    const own: Tree = {value: parsed.file.value, origins: parsed.file.origins}
    const start = fileStart(absolute)
    this.diagnostics.push(...validateAgainstSchema(own.value, own.origins, start))

    const ownVariables = isVariables(own.value.variables) ? {...own.value.variables} : {}
    for (const name of RESERVED_VARIABLES.filter((name) => name in ownVariables)) {
      const instead = name === 'releasever' ? 'set the "releasever" key instead' : 'the tool sets it from --arch'
      this.report(locate(own.origins, pointer('variables', name), start, 'key'), `variable "${name}" is reserved: ${instead}`)
      delete ownVariables[name]
    }
    const ownReleasever = own.value.releasever
    const visible = {
      ...ownVariables,
      ...(typeof ownReleasever === 'string' || typeof ownReleasever === 'number' ? {releasever: ownReleasever} : {}),
      ...inherited,
    }
    const nextChain = [...chain, real]
    const included = emptyTree()
    const includeAll = async (value: unknown, ptr: string): Promise<void> => {
      if (!isStringOrStrings(value)) return
      const paths = typeof value === 'string' ? [value] : value
      for (const [index, relative] of paths.entries()) {
        // The schema reports an empty path; resolving it would name this directory.
        if (relative === '') continue
        const origin = locate(own.origins, typeof value === 'string' ? ptr : ptr + pointer(index), start)
        const tree = await this.load(path.resolve(path.dirname(absolute), relative), origin, nextChain, visible)
        if (tree) mergeTrees(included, tree)
      }
    }
    await includeAll(own.value.include, pointer('include'))
    const archIncludes = own.value['arch-include']
    if (typeof archIncludes === 'object' && archIncludes !== null && this.arch in archIncludes) {
      await includeAll((archIncludes as Record<string, unknown>)[this.arch], pointer('arch-include', this.arch))
    }
    const conditionals = own.value['conditional-include']
    if (Array.isArray(conditionals)) {
      for (const [index, entry] of conditionals.entries()) {
        if (await this.conditionHolds(entry, pointer('conditional-include', index), own.origins, start, included, visible)) {
          await includeAll((entry as {include: unknown}).include, pointer('conditional-include', index, 'include'))
        }
      }
    }
    return mergeTrees(included, own)
  }

  private async conditionHolds(entry: unknown, ptr: string, origins: Origins, start: Located, included: Tree, visible: Record<string, VariableValue>): Promise<boolean> {
    const conditions = (entry as {if?: unknown})?.if
    if (!isStringOrStrings(conditions)) return false
    const includedVariables = isVariables(included.value.variables) ? included.value.variables : {}
    const variables = {...includedVariables, ...visible, basearch: this.arch, arch: this.arch}
    let holds = true
    for (const [index, condition] of [conditions].flat().entries()) {
      try {
        holds = evaluateCondition(condition, variables) && holds
      } catch (error) {
        if (!(error instanceof ConditionError)) throw error
        this.report(locate(origins, typeof conditions === 'string' ? `${ptr}/if` : `${ptr}/if/${index}`, start), error.message)
        holds = false
      }
    }
    return holds
  }
}

function substituteVariables(tree: Tree, variables: Record<string, VariableValue>, start: Located, diagnostics: Diagnostic[]): void {
  const apply = (value: unknown, ptr: string): unknown => {
    if (typeof value !== 'string') return value
    try {
      return substitute(value, variables)
    } catch (error) {
      if (!(error instanceof SubstitutionError)) throw error
      diagnostics.push({location: locate(tree.origins, ptr, start), message: error.message})
      return value
    }
  }
  for (const key of SUBSTITUTED_KEYS) {
    if (key in tree.value) tree.value[key] = apply(tree.value[key], pointer(key))
  }
  const metadata = tree.value['add-commit-metadata']
  if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) {
    for (const [key, value] of Object.entries(metadata)) {
      ;(metadata as Record<string, unknown>)[key] = apply(value, pointer('add-commit-metadata', key))
    }
  }
}

/** Files in the order they first appear, then by position: the order an editor walks them. */
function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const fileOrder = [...new Set(diagnostics.map((diagnostic) => diagnostic.location.file))]
  return diagnostics
    .map((diagnostic, index) => ({diagnostic, index}))
    .sort((a, b) => {
      const [x, y] = [a.diagnostic.location, b.diagnostic.location]
      return fileOrder.indexOf(x.file) - fileOrder.indexOf(y.file) || x.line - y.line || x.col - y.col || a.index - b.index
    })
    .map(({diagnostic}) => diagnostic)
}

export interface LoadOptions {
  /** Debian architecture to compose for; the host's by default. */
  arch?: string
}

/**
 * Load a treefile: read, include, merge, validate, substitute and check.
 * Throws a TreefileError listing every problem found, each with its location.
 */
export async function loadTreefile(file: string, options: LoadOptions = {}): Promise<ResolvedTreefile> {
  const absolute = path.resolve(file)
  const arch = options.arch === undefined ? hostArchitecture().debian : architectureNamed(options.arch).debian
  const loader = new Loader(arch)
  const tree = await loader.load(absolute, undefined, [], {})
  if (!tree) throw new TreefileError(sortDiagnostics(loader.diagnostics))
  const start = fileStart(absolute)
  const diagnostics = [...loader.diagnostics]
  const releasever = tree.value.releasever
  const variables: Record<string, VariableValue> = {
    ...(isVariables(tree.value.variables) ? tree.value.variables : {}),
    basearch: arch,
    arch,
    ...(releasever === undefined ? {} : {releasever: String(releasever)}),
  }
  // Schema errors make the values untrustworthy: semantic checks would only add noise.
  if (diagnostics.length === 0) {
    substituteVariables(tree, variables, start, diagnostics)
    applyDefaults(tree.value, treefileSchema)
  }
  const resolved = diagnostics.length === 0 ? await checkTreefile(tree, start, arch, diagnostics) : undefined
  if (diagnostics.length > 0 || !resolved) throw new TreefileError(sortDiagnostics(diagnostics))
  return {
    path: absolute,
    arch,
    treefile: tree.value as TreefileConfig,
    packages: resolved.packages,
    addFiles: resolved.addFiles,
    postprocessScript: resolved.postprocessScript,
    keyrings: resolved.keyrings,
    treefiles: loader.files,
    referencedFiles: resolved.referencedFiles,
    origins: tree.origins,
    variables,
  }
}
