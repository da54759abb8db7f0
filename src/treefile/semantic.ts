import {access, constants, realpath, stat} from 'node:fs/promises'
import path from 'node:path'
import type {Diagnostic} from '../errors.js'
import {locate, pointer, type Located} from './location.js'
import type {Tree} from './merge.js'
import type {AddFile, PackageSpec, ReferencedFile} from './types.js'
import type {Treefile} from './treefile.generated.js'
import {checkRemote, hasCredentials} from './remote.js'
import type {SchemaNode} from './schema.js'
import {quoted} from '../text.js'
import {insideDirectory} from '../fs.js'

/** Fill in the schema's defaults, top level and per repo, where a key is absent. */
export function applyDefaults(value: Record<string, unknown>, schema: SchemaNode): void {
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    if (!(key in value) && node.default !== undefined) value[key] = structuredClone(node.default)
  }
  if (value.composefs === true || value.composefs === false) value.composefs = value.composefs ? 'yes' : 'no'
  const repoSchema = (schema.$defs as Record<string, SchemaNode> | undefined)?.repo ?? {}
  for (const repo of (value.repos as Record<string, unknown>[] | undefined) ?? []) applyDefaults(repo, repoSchema)
}

/** ostree's ref grammar (ostree_validate_rev). */
const REF = /^[\w\d][-._\w\d]*(\/[\w\d][-._\w\d]*)*$/
/** rpm-ostree's add-files destinations; /usr/local belongs to /var on the client. */
const ADD_FILES_ROOTS = ['/usr/', '/etc/', '/bin/', '/sbin/', '/lib/', '/lib64/']
const BOOT_PACKAGES = ['dracut', 'ostree', 'ostree-boot']
/** Where Debian keeps keyrings (apt's sources.list(5), debian-archive-keyring): a repo's keyring is there or in its treefile's directory. */
const KEYRING_DIRECTORIES = ['/usr/share/keyrings', '/etc/apt/keyrings', '/etc/apt/trusted.gpg.d']

export interface CheckedTreefile {
  packages: PackageSpec[]
  addFiles: AddFile[]
  postprocessScript?: string
  /** Absolute keyring paths by repo name. */
  keyrings: Record<string, string>
  referencedFiles: ReferencedFile[]
}

/** Semantic checks beyond the schema; resolves the paths the treefile names. */
export async function checkTreefile(tree: Tree, start: Located, arch: string, diagnostics: Diagnostic[]): Promise<CheckedTreefile | undefined> {
  const value = tree.value as Record<string, unknown> & {
    ref?: string
    packages?: string[]
    repos?: Array<{name: string; 'signed-by'?: string; trusted: boolean}>
  }
  const at = (ptr: string, part: 'key' | 'value' = 'value'): Located => locate(tree.origins, ptr, start, part)
  const report = (location: Located, message: string): void => {
    diagnostics.push({location, message})
  }
  const before = diagnostics.length

  if (value.ref === undefined) report(start, 'missing required key "ref"')
  else if (!REF.test(value.ref)) report(at('/ref'), `"ref": ${JSON.stringify(value.ref)} is not a valid OSTree ref (letters, digits, - . _ in /-separated parts)`)

  if (value.repos === undefined) report(start, 'missing required key "repos": name at least one apt repository')
  else if (value.repos.length === 0) report(at('/repos'), '"repos" is empty: name at least one apt repository')
  const keyrings: Record<string, string> = {}
  /** The real directory each keyring is in: what it must still be in when it is read. */
  const keyringsWithin = new Map<string, string>()
  const repoNames = new Map<string, Located>()
  for (const [index, repo] of (value.repos ?? []).entries()) {
    const ptr = pointer('repos', index)
    const first = repoNames.get(repo.name)
    if (first) report(at(ptr + '/name'), `repo "${repo.name}" is already defined at ${first.file}:${first.line}:${first.col}`)
    repoNames.set(repo.name, at(ptr + '/name'))
    for (const [uriIndex, uri] of ((repo as {uris?: string[]}).uris ?? []).entries()) {
      if (hasCredentials(uri)) {
        report(at(`${ptr}/uris/${uriIndex}`), `repo "${repo.name}": a URI with credentials (user:password@) is refused: they would be printed and kept in the image's metadata (apt's way is /etc/apt/auth.conf.d, see apt_auth.conf(5); composes do not fetch from password-protected repos yet)`)
      }
    }
    const signedBy = repo['signed-by']
    if (signedBy === undefined) {
      if (!repo.trusted) report(at(ptr), `repo "${repo.name}" has no "signed-by" keyring; unsigned repos need "trusted: true"`)
      continue
    }
    const origin = at(ptr + '/signed-by')
    const directory = path.dirname(origin.path)
    const keyring = path.resolve(directory, signedBy)
    const allowed = [directory, ...KEYRING_DIRECTORIES]
    // Checked by name before anything looks at the path: where a keyring may be, not whether a host file exists.
    if (!allowed.some((each) => insideDirectory(each, keyring))) {
      report(origin, `keyring ${quoted(signedBy)} of repo "${repo.name}" must be in the treefile's directory or in ${KEYRING_DIRECTORIES.join(', ')}`)
      continue
    }
    const info = await stat(keyring).catch(() => undefined)
    if (!info?.isFile()) report(origin, `keyring ${signedBy} of repo "${repo.name}" ${info ? 'is not a file' : 'does not exist'}`)
    else {
      const real = await realpath(keyring)
      const within = (await Promise.all(allowed.map((each) => realpath(each).catch(() => undefined)))).find((each) => each !== undefined && insideDirectory(each, real))
      if (within) keyringsWithin.set(keyring, within)
      else report(origin, `keyring ${quoted(signedBy)} of repo "${repo.name}" is a link that leaves the treefile's directory and ${KEYRING_DIRECTORIES.join(', ')}`)
    }
    keyrings[repo.name] = keyring
  }

  const packages: PackageSpec[] = []
  const listed = new Map<string, Located>()
  const collect = (key: string): void => {
    for (const [index, entry] of ((value[key] as string[] | undefined) ?? []).entries()) {
      const origin = at(pointer(key, index))
      for (const spec of entry.trim().split(/\s+/)) {
        const name = spec.split(/[=/]/)[0]
        const first = listed.get(name)
        if (first) report(origin, `package "${name}" is listed twice (first at ${first.file}:${first.line}:${first.col})`)
        else listed.set(name, origin)
        packages.push({spec, name, origin})
      }
    }
  }
  if (value.packages === undefined) report(start, 'missing required key "packages"')
  collect('packages')
  collect(`packages-${arch}`)
  for (const [index, excluded] of ((value['exclude-packages'] as string[] | undefined) ?? []).entries()) {
    const first = listed.get(excluded)
    if (first) report(at(pointer('exclude-packages', index)), `package "${excluded}" is both excluded and listed at ${first.file}:${first.line}:${first.col}`)
  }
  if (value.packages !== undefined && !value.container) {
    const missing = [
      ...(packages.some((entry) => entry.name.startsWith('linux-image-')) ? [] : ['a kernel (linux-image-*)']),
      ...BOOT_PACKAGES.filter((name) => !listed.has(name)),
    ]
    if (missing.length > 0) {
      report(at('/packages', 'key'), `a bootable treefile must list ${missing.join(', ')} in "packages" (or set "container: true")`)
    }
  }

  const addFiles: AddFile[] = []
  const destinations = new Map<string, Located>()
  for (const [index, [source, destination]] of ((value['add-files'] as [string, string][] | undefined) ?? []).entries()) {
    const sourceAt = at(pointer('add-files', index, 0))
    const destinationAt = at(pointer('add-files', index, 1))
    const directory = path.dirname(sourceAt.path)
    const absolute = path.resolve(directory, source)
    if (path.isAbsolute(source) || !insideDirectory(directory, absolute)) {
      report(sourceAt, `add-files source ${source} must be a path inside the treefile's directory`)
    } else {
      const info = await stat(absolute).catch(() => undefined)
      const real = await realpath(absolute).catch(() => absolute)
      if (!info) report(sourceAt, `add-files source ${source} does not exist`)
      else if (!info.isFile()) report(sourceAt, `add-files source ${source} ${info.isDirectory() ? 'is a directory: name each file' : 'is not a regular file'}`)
      else if (!insideDirectory(await realpath(directory), real)) report(sourceAt, `add-files source ${source} is a link that leaves the treefile's directory`)
    }
    const normal = path.posix.normalize(destination)
    if (!destination.startsWith('/')) report(destinationAt, `add-files destination ${destination} must be an absolute path`)
    else if (normal !== destination || destination.endsWith('/')) report(destinationAt, `add-files destination ${destination} must be a normalized file path (no "..", "//" or trailing "/")`)
    else if (!ADD_FILES_ROOTS.some((root) => destination.startsWith(root)) || destination.startsWith('/usr/local/')) {
      report(destinationAt, `add-files destination ${destination} must be under /usr (not /usr/local), /etc, /bin, /sbin, /lib or /lib64`)
    } else {
      const first = destinations.get(destination)
      if (first) report(destinationAt, `add-files destination ${destination} is already written by ${first.file}:${first.line}:${first.col}`)
      destinations.set(destination, destinationAt)
    }
    addFiles.push({source: absolute, destination, origin: sourceAt})
  }

  await checkRemote(value.remote as Treefile['remote'], at, report, addFiles, destinations)

  for (const [index, file] of ((value['remove-files'] as string[] | undefined) ?? []).entries()) {
    if (file.startsWith('/')) report(at(pointer('remove-files', index)), `remove-files entry ${file} must be relative to the root (${file.replace(/^\/+/, '')})`)
    else if (file.split('/').includes('..')) report(at(pointer('remove-files', index)), `remove-files entry ${file} must not contain ".."`)
  }
  for (const [index, [, ...patterns]] of ((value['remove-from-packages'] as string[][] | undefined) ?? []).entries()) {
    for (const [offset, pattern] of patterns.entries()) {
      try {
        new RegExp(pattern)
      } catch (error) {
        // V8 says "Invalid regular expression: /PATTERN/: REASON"; the pattern is in the message already.
        const reason = (error as Error).message.replace(/^.*: /, '')
        report(at(pointer('remove-from-packages', index, offset + 1)), `remove-from-packages pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${reason.toLowerCase()}`)
      }
    }
  }

  let postprocessScript: string | undefined
  if (typeof value['postprocess-script'] === 'string') {
    const origin = at('/postprocess-script')
    postprocessScript = path.resolve(path.dirname(origin.path), value['postprocess-script'])
    const info = await stat(postprocessScript).catch(() => undefined)
    if (!info) report(origin, `postprocess-script ${value['postprocess-script']} does not exist`)
    else if (!info.isFile()) report(origin, `postprocess-script ${value['postprocess-script']} is not a regular file`)
    else if (!insideDirectory(await realpath(path.dirname(origin.path)), await realpath(postprocessScript))) {
      report(origin, `postprocess-script ${value['postprocess-script']} is a link that leaves the treefile's directory`)
    } else if (await access(postprocessScript, constants.X_OK).then(() => false, () => true) || (info.mode & 0o111) === 0) {
      report(origin, `postprocess-script ${value['postprocess-script']} is not executable (chmod +x it)`)
    }
  }

  if (value['machineid-compat'] === false && (value.units as string[] | undefined)?.length) {
    report(at('/units', 'key'), '"units" needs "machineid-compat: true": without /etc/machine-id systemd presets the units on first boot')
  }
  // Variables are substituted into these after the schema saw them: what they gave must still be os-release text.
  for (const key of ['automatic-version-prefix', 'mutate-os-release']) {
    const text = value[key]
    // eslint-disable-next-line no-control-regex
    if (typeof text === 'string' && /[\x00-\x1f\x7f"'`\\$]/.test(text)) report(at(`/${key}`), `"${key}": its variables give ${quoted(text)}, which os-release cannot hold (no control characters, quotes, backslash or $)`)
  }
  const prefix = value['automatic-version-prefix']
  if (typeof prefix === 'string') {
    for (const match of prefix.matchAll(/<date:([^>]*)>/g)) {
      const bad = match[1].match(/%[^YmdHMS%]/)
      if (bad) report(at('/automatic-version-prefix'), `"automatic-version-prefix": "${bad[0]}" is not a supported date format (use %Y %m %d %H %M %S)`)
    }
  }

  if (diagnostics.length > before) return undefined
  return {
    packages,
    addFiles,
    postprocessScript,
    keyrings,
    referencedFiles: [
      ...await Promise.all(addFiles.map(async (file) => ({path: file.source, within: await realpath(path.dirname(file.origin.path))}))),
      ...(postprocessScript ? [{path: postprocessScript, within: await realpath(path.dirname(at('/postprocess-script').path))}] : []),
      ...Object.values(keyrings).map((keyring) => ({path: keyring, within: keyringsWithin.get(keyring)})),
    ],
  }
}
