import path from 'node:path'
import {parse as parseToml, TomlError} from 'smol-toml'
import {childrenOf, dropInsOf, entryAt, readText, resolveEntry, resolvePath} from '../../file-tree.js'
import {fatal, problem, problemIf, warning, type LintProblem} from '../rule.js'
import type {FileTree} from '../../file-tree.js'

/** bootc's own documentation copy of the base image content, checked like the root when present. */
const BASEIMAGE_REF = '/usr/share/doc/bootc/baseimage/base'
const KARGS_D = '/usr/lib/bootc/kargs.d'
const PREPARE_ROOT_CONF = /^(\/usr\/share\/doc\/bootc\/baseimage\/base)?\/(etc|usr\/lib)\/ostree\/prepare-root\.conf$/
/** The library an ostree built with composefs links; Debian puts it under /usr/lib/<triplet>/. */
const LIBCOMPOSEFS = /^\/usr\/lib\/(.+\/)?libcomposefs\.so(\.|$)/

/** A GKeyFile (ini) as section → key → value; comments and malformed lines ignored. */
function parseKeyFile(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>()
  let section: Map<string, string> | undefined
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    const header = /^\[(.+)\]$/.exec(line)
    if (header) sections.set(header[1], (section = sections.get(header[1]) ?? new Map()))
    else if (section && !line.startsWith('#') && line.includes('=')) section.set(line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim())
  }
  return sections
}

/**
 * Whether ostree-prepare-root mounts an overlay root: `[root] transient`, or
 * `[composefs] enabled` set to anything but off (ostree-ext's
 * overlayfs_enabled_in_config; an invalid value counts as the default, off).
 */
function overlayEnabled(config: Map<string, Map<string, string>>): boolean {
  const transient = config.get('root')?.get('transient')
  const composefs = config.get('composefs')?.get('enabled') ?? 'no'
  return transient === 'true' || transient === '1' || ['yes', 'true', '1', 'maybe', 'signed', 'verity'].includes(composefs)
}

async function composefsProblems(tree: FileTree, base: string): Promise<LintProblem[]> {
  // ostree reads /etc's copy first.
  for (const directory of ['/etc', '/usr/lib']) {
    const file = `${base}${directory}/ostree/prepare-root.conf`
    const text = await readText(tree, file)
    if (text !== undefined) return overlayEnabled(parseKeyFile(text)) ? [] : problem(`${file} does not have composefs enabled`)
  }
  return problem(`${base}/usr/lib/ostree/prepare-root.conf is not present to enable composefs`)
}

function baseimageRootProblems(tree: FileTree, base: string): LintProblem[] {
  const sysroot = entryAt(tree, `${base}/sysroot`)
  if (!sysroot) return problem(`Missing ${base}/sysroot`)
  if (sysroot.type !== 'directory') return problem(`Expected a directory for ${base}/sysroot`)
  const ostree = entryAt(tree, `${base}/ostree`)
  if (!ostree) return problem(`Missing ${base}/ostree -> sysroot/ostree link`)
  if (ostree.type !== 'symlink') return problem(`${base}/ostree should be a symlink`)
  if (ostree.target !== 'sysroot/ostree') return problem(`Expected ${base}/ostree -> sysroot/ostree, not "${ostree.target}"`)
  return []
}

/** The root, then bootc's documentation copy of the base image when the tree has one. */
function baseimageRoots(tree: FileTree): string[] {
  const reference = resolvePath(tree, BASEIMAGE_REF)
  return reference !== undefined && tree.get(reference)?.type === 'directory' ? ['', BASEIMAGE_REF] : ['']
}

export const baseimageComposefs = warning(
  'baseimage-composefs',
  'Check that composefs is enabled for ostree. apt-ostree checks it only when the tree\'s ostree can do composefs, that is when the tree has a libcomposefs shared library (/usr/lib/**/libcomposefs.so*): Debian trixie\'s ostree (2025.2) is built without composefs, and enabling it there makes a deploy fail with "support is not compiled in"; forky\'s links libcomposefs.',
  async (tree) => {
    if (![...tree.keys()].some((key) => LIBCOMPOSEFS.test(key))) return []
    for (const base of baseimageRoots(tree)) {
      const problems = await composefsProblems(tree, base)
      if (problems.length > 0) return problems
    }
    return []
  },
  {reads: [PREPARE_ROOT_CONF]},
)

export const baseimageRoot = fatal(
  'baseimage-root',
  'Check that expected files are present in the root of the filesystem; such as /sysroot and a composefs configuration for ostree.',
  async (tree) => baseimageRoots(tree).flatMap((base) => baseimageRootProblems(tree, base)).slice(0, 1),
)

export const kernel = fatal(
  'kernel',
  'Check for multiple kernels, i.e. multiple directories of the form /usr/lib/modules/$kver. Only one kernel is supported in an image.',
  async (tree) => {
    const modules = resolvePath(tree, '/usr/lib/modules')
    if (modules === undefined) return []
    const kernels = childrenOf(tree, modules)
      .filter((child) => {
        const entry = tree.get(child)!
        // bootc passes over names that are not UTF-8 (the utf8 rule reports them).
        return entry.type === 'directory' && !entry.invalidUtf8 && resolveEntry(tree, `${child}/vmlinuz`) !== undefined
      })
      .map((child) => `/usr/lib/modules/${path.posix.basename(child)}`)
    return kernels.length > 1 ? problemIf('Found multiple subdirectories in usr/lib/modules', kernels) : []
  },
)

const isStringArray = (value: unknown): boolean => Array.isArray(value) && value.every((item) => typeof item === 'string')

/** What is wrong with a kargs.d file, as bootc's serde model (deny_unknown_fields) sees it: "FILE[:LINE:COL]: message". */
function kargsError(file: string, text: string): string | undefined {
  let document: Record<string, unknown>
  try {
    document = parseToml(text)
  } catch (error) {
    if (!(error instanceof TomlError)) throw error
    return `${file}:${error.line}:${error.column}: ${error.message.split('\n')[0].replace(/^Invalid TOML document: /, '')}`
  }
  const unknown = Object.keys(document).find((key) => key !== 'kargs' && key !== 'match-architectures')
  if (unknown !== undefined) return `${file}: unknown field "${unknown}", expected "kargs" or "match-architectures"`
  if (!('kargs' in document)) return `${file}: missing field "kargs"`
  if (!isStringArray(document.kargs)) return `${file}: "kargs" is not an array of strings`
  if ('match-architectures' in document && !isStringArray(document['match-architectures'])) return `${file}: "match-architectures" is not an array of strings`
  return undefined
}

export const bootcKargs = fatal(
  'bootc-kargs',
  'Verify syntax of /usr/lib/bootc/kargs.d.',
  async (tree) => {
    const directory = resolvePath(tree, KARGS_D)
    if (directory === undefined) return []
    if (tree.get(directory)?.type !== 'directory') return problem(`${KARGS_D} is not a directory`)
    const errors: string[] = []
    for (const file of dropInsOf(tree, KARGS_D, '.toml')) {
      const text = await readText(tree, file)
      const error = text === undefined ? `${file}: not a regular file` : kargsError(file, text)
      if (error !== undefined) errors.push(error)
    }
    return problemIf(`Failed to parse ${KARGS_D}`, errors)
  },
  {reads: [/^\/usr\/lib\/bootc\/kargs\.d\/[^/]+\.toml$/]},
)
