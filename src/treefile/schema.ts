import {readFileSync} from 'node:fs'
import {Ajv2020, type ErrorObject, type ValidateFunction} from 'ajv/dist/2020.js'
import {ARCHITECTURE_ALIASES} from '../arch.js'
import type {Diagnostic} from '../errors.js'
import {quoted} from '../text.js'
import {didYouMean} from './suggest.js'
import {keyPath, locate, pointer, pointerSegments, type Located, type Origins} from './location.js'

export type SchemaNode = Record<string, unknown> & {
  type?: string | string[]
  properties?: Record<string, SchemaNode>
  patternProperties?: Record<string, SchemaNode>
  items?: SchemaNode | false
  prefixItems?: SchemaNode[]
  oneOf?: SchemaNode[]
  enum?: unknown[]
  $ref?: string
}

export const treefileSchema = JSON.parse(
  readFileSync(new URL('../../schemas/treefile.schema.json', import.meta.url), 'utf8'),
) as SchemaNode & {$defs: Record<string, SchemaNode>}

let compiled: ValidateFunction | undefined

function validator(): ValidateFunction {
  compiled ??= new Ajv2020({allErrors: true, verbose: true, strict: true, strictTuples: false, allowUnionTypes: true}).compile(treefileSchema)
  return compiled
}

function resolveRef(node: SchemaNode): SchemaNode {
  if (!node.$ref) return node
  const target = node.$ref.replace('#/', '').split('/').reduce<SchemaNode>((at, key) => at[key] as SchemaNode, treefileSchema)
  return {...resolveRef(target), ...node, $ref: undefined}
}

/** "a string", "a list of strings": how a schema node reads in a message. */
function describeType(node: SchemaNode): string {
  const resolved = resolveRef(node)
  if (resolved.oneOf) return joinChoices(resolved.oneOf.map(describeType))
  if (resolved.enum) return `one of ${resolved.enum.map((value) => (typeof value === 'string' ? value : String(value))).join(', ')}`
  const types = [resolved.type ?? 'value'].flat()
  return joinChoices(types
    .map((type) => {
      if (type === 'array') {
        if (resolved.prefixItems) return `a list of ${resolved.prefixItems.length} strings`
        const items = resolved.items ? describeType(resolved.items) : 'values'
        return `a list of ${items.replace(/^an? /, '').replace(/^(\w+)/, '$1s').replace(/ys$/, 'ies')}`
      }
      return {object: 'a mapping', integer: 'an integer', array: 'a list'}[type] ?? `a ${type}`
    }))
}

/** "a, b or c": a `oneOf` or type union read as one phrase. */
function joinChoices(choices: string[]): string {
  return choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : choices.join('')
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'empty'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  // YAML reads 1e400 as Infinity, which JSON cannot write.
  if (typeof value === 'number' && !Number.isFinite(value)) return 'a number too large to hold'
  // Show short scalars: `recommends: "yes"` is a string only because of its quotes.
  const shown = typeof value === 'string' && value.length > 40 ? '' : ` ${typeof value === 'string' ? quoted(value) : JSON.stringify(value)}`
  if (typeof value === 'number') return `the ${Number.isInteger(value) ? 'integer' : 'number'}${shown}`
  return `the ${typeof value}${shown}`
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}


function suggestArchitecture(word: string, known: string[]): string {
  const alias = ARCHITECTURE_ALIASES[word.toLowerCase()]
  return alias ? ` (did you mean "${alias}"? Debian calls it so)` : didYouMean(word, known)
}

/** The keys a mapping at this point of the schema accepts, for "did you mean". */
function knownKeys(node: SchemaNode): string[] {
  const keys = Object.keys(node.properties ?? {})
  for (const pattern of Object.keys(node.patternProperties ?? {})) {
    const choices = /^\^(.*)-\(([^)]*)\)\$$/.exec(pattern)
    if (choices) keys.push(...choices[2].split('|').map((arch) => `${choices[1]}-${arch}`))
  }
  return keys
}

const PATTERN_NAMES: Record<string, string> = {
  packageName: 'a Debian package name',
  packageList: 'a list of Debian package names',
  unitName: 'a systemd unit name (name.service, name.target, ...)',
  printable: 'text without control characters (a newline, a tab, an escape)',
  osReleaseText: 'text os-release can quote (no control characters, quotes, backslash or $ but ${variable})',
}

function describePattern(schemaPath: string, ptr: string): string {
  const def = /#\/\$defs\/(\w+)\//.exec(schemaPath)?.[1]
  if (def && PATTERN_NAMES[def]) return `is not ${PATTERN_NAMES[def].replace('a list of ', 'a ').replace(/names$/, 'name')}`
  const key = pointerSegments(ptr).filter((segment) => !/^\d+$/.test(segment)).pop()
  const specific: Record<string, string> = {
    uris: 'is not a URI (http://, https://, file:// or copy://, without white space or control characters)',
    url: 'is not an OSTree repo URL (http://, https:// or file://, without white space, control characters or backslash)',
    'install-langs': 'is not a locale name (en, de, pt_BR, ...)',
    'automatic-version-suffix': 'must be one printable ASCII character',
    name: 'is not a valid name (letters, digits, . _ -)',
  }
  return specific[key ?? ''] ?? 'is not valid here'
}

function message(error: ErrorObject, data: unknown): {message: string; ptr: string; part: 'key' | 'value'} {
  const ptr = error.instancePath
  const name = keyPath(ptr)
  const subject = name ? `"${name}"` : 'the treefile'
  const parent = error.parentSchema as SchemaNode
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = error.params.additionalProperty as string
      const arch = /^packages-(.+)$/.exec(key)?.[1]
      const alias = arch ? ARCHITECTURE_ALIASES[arch.toLowerCase()] : undefined
      const hint = alias ? ` (did you mean "packages-${alias}"? Debian calls it so)` : didYouMean(key, knownKeys(parent))
      const where = name ? ` in ${subject}` : ''
      // Only what looks like a key name is quoted: an included file that is no treefile (/etc/shadow) is not echoed.
      const named = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(key) ? quoted(key) : '(not shown: it is no key name)'
      return {message: `unknown key ${named}${where}${named === quoted(key) ? hint : ''}`, ptr: ptr + pointer(key), part: 'key'}
    }
    case 'required':
      return {message: `${subject} is missing the required key "${error.params.missingProperty as string}"`, ptr, part: 'value'}
    case 'type':
    case 'oneOf':
      return {message: `${subject} must be ${describeType(parent)}, not ${typeOfValue(error.data)}`, ptr, part: 'value'}
    case 'enum': {
      const allowed = parent.enum ?? []
      const hint = typeof error.data === 'string' ? didYouMean(error.data, allowed.map(String)) : ''
      return {message: `${subject} must be one of ${allowed.map(String).join(', ')}, not ${typeof error.data === 'string' ? quoted(error.data) : JSON.stringify(error.data)}${hint}`, ptr, part: 'value'}
    }
    case 'propertyNames': {
      const key = error.params.propertyName as string
      const names = parent.propertyNames as SchemaNode
      const resolved = resolveRef(names)
      if (!resolved.enum) {
        return {message: `${name === 'variables' ? 'variable name' : 'name'} ${quoted(key)} is not valid: use letters, digits and _, not starting with a digit`, ptr: ptr + pointer(key), part: 'key'}
      }
      const hint = suggestArchitecture(key, resolved.enum.map(String))
      return {message: `unknown architecture ${quoted(key)} in ${subject}${hint}`, ptr: ptr + pointer(key), part: 'key'}
    }
    case 'pattern':
      return {message: `${subject}: ${quoted(String(error.data))} ${describePattern(error.schemaPath, ptr)}`, ptr, part: 'value'}
    case 'minLength':
      return {message: `${subject} must not be empty`, ptr, part: 'value'}
    case 'maxLength':
      return {message: `${subject} must be at most ${plural(error.params.limit as number, 'character')} long`, ptr, part: 'value'}
    case 'minItems': {
      const limit = error.params.limit as number
      const count = (data as unknown[]).length
      return {message: limit === 1 ? `${subject} must not be empty` : `${subject} must have at least ${plural(limit, 'item')}, not ${count}`, ptr, part: 'value'}
    }
    case 'maxItems': {
      // Point at the first item too many: that is what to delete.
      const limit = error.params.limit as number
      return {message: `${subject} must have at most ${plural(limit, 'item')}, not ${(data as unknown[]).length}`, ptr: ptr + pointer(limit), part: 'value'}
    }
    case 'uniqueItems': {
      const items = data as unknown[]
      const second = error.params.i as number
      return {message: `${subject} lists ${typeof items?.[second] === 'string' ? quoted(items[second] as string) : JSON.stringify(items?.[second])} twice`, ptr: ptr + pointer(second), part: 'value'}
    }
    default:
      return {message: `${subject} ${error.message ?? 'is invalid'}`, ptr, part: 'value'}
  }
}

/**
 * Validate one file's raw value against the schema. Errors are reported at
 * the key or value they are about; a failing oneOf/type reports once, not
 * once per branch.
 */
export function validateAgainstSchema(value: unknown, origins: Origins, start: Located): Diagnostic[] {
  const validate = validator()
  if (validate(value)) return []
  const errors = validate.errors ?? []
  // A oneOf whose value has no branch's type is reported once ("must be A or
  // B"), its branch errors are noise. When the value has a branch's type (an
  // empty string or list), that branch's own errors say more ("must not be
  // empty"): report those instead, without the other branches' type errors.
  const oneOfs = errors.filter((error) => error.keyword === 'oneOf')
  const typeErrorsOf = (oneOf: ErrorObject): ErrorObject[] =>
    errors.filter((error) => error.keyword === 'type' && error.instancePath === oneOf.instancePath && error.schemaPath.startsWith(oneOf.schemaPath + '/'))
  const detailed = oneOfs.filter((oneOf) => typeErrorsOf(oneOf).length < ((oneOf.parentSchema as SchemaNode).oneOf?.length ?? 0))
  const skipped = new Set(detailed.flatMap((oneOf) => [oneOf, ...typeErrorsOf(oneOf)]))
  const summarised = new Set(oneOfs.filter((oneOf) => !detailed.includes(oneOf)).map((error) => error.instancePath))
  const diagnostics: Diagnostic[] = []
  const seen = new Set<string>()
  for (const error of errors) {
    if (skipped.has(error)) continue
    if (error.keyword !== 'oneOf' && [...summarised].some((ptr) => error.instancePath === ptr || error.instancePath.startsWith(ptr + '/'))) continue
    if (error.keyword === 'if' || error.keyword === 'false schema') continue
    // A bad property name is reported once, by its propertyNames error, at the key.
    if (error.propertyName !== undefined) continue
    const sameValue = (keyword: string): boolean => errors.some((other) => other.keyword === keyword && other.instancePath === error.instancePath)
    // `items: false` after prefixItems repeats what maxItems says.
    if (error.keyword === 'items' && sameValue('maxItems')) continue
    // One message per string: "must not be empty" says more than a pattern, a pattern more than a length.
    if (error.keyword === 'pattern' && sameValue('minLength')) continue
    if (error.keyword === 'maxLength' && sameValue('pattern')) continue
    const {message: text, ptr, part} = message(error, error.data)
    const location = locate(origins, ptr, start, part)
    const id = `${location.line}:${location.col}:${text}`
    if (seen.has(id)) continue
    seen.add(id)
    diagnostics.push({location, message: text})
  }
  return diagnostics
}
