import {readFile, stat} from 'node:fs/promises'
import {Document, isAlias, isCollection, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Node, type YAMLError} from 'yaml'
import type {Diagnostic} from '../errors.js'
import {displayPath, fileStart, pointer, type Located, type Origins} from './location.js'

/** Treefiles are small: anything larger is a mistake (or an attack on the parser). */
export const MAX_TREEFILE_BYTES = 1024 * 1024
/** Aliases resolved per file, against alias bombs ("billion laughs"). */
const MAX_ALIAS_COUNT = 200

export interface ParsedFile {
  path: string
  value: Record<string, unknown>
  origins: Origins
}

export type ParseResult = {ok: true; file: ParsedFile} | {ok: false; diagnostics: Diagnostic[]}

function fail(location: Located, message: string): ParseResult {
  return {ok: false, diagnostics: [{location, message}]}
}

/**
 * Read one treefile and parse it with positions. Every failure is a located
 * diagnostic: `at` is where the file was named (the include line), or the
 * file's own start for the top-level treefile.
 */
export async function parseTreefile(absolute: string, at: Located = fileStart(absolute)): Promise<ParseResult> {
  // Problems found before parsing are reported where the file was named; an
  // include names the file, the top-level treefile is its own subject.
  const subject = at.path === absolute ? '' : `included file ${displayPath(absolute)}: `
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => error)
  if (info instanceof Error) {
    return fail(at, `${subject}${info.code === 'ENOENT' ? 'no such file' : `cannot read (${info.code ?? info.message})`}`)
  }
  if (info.isDirectory()) return fail(at, `${subject}is a directory, not a treefile`)
  if (!info.isFile()) return fail(at, `${subject}not a regular file`)
  if (info.size > MAX_TREEFILE_BYTES) {
    return fail(at, `${subject}file is too large (${(info.size / 1e6).toFixed(1)} MB; a treefile may be at most 1 MiB)`)
  }
  const bytes = await readFile(absolute).catch((error: NodeJS.ErrnoException) => error)
  if (bytes instanceof Error) return fail(at, `${subject}cannot read (${bytes.code ?? bytes.message})`)
  if (bytes.toString('utf8').trim() === '') return fail(at, `${subject}file is empty`)
  const nul = bytes.indexOf(0)
  if (nul >= 0) return fail(positionOfByte(bytes, nul, absolute), 'binary file, not a treefile (NUL byte)')
  const text = decodeUtf8(bytes, absolute)
  if (typeof text !== 'string') {
    const bad = bytes[Math.max(0, firstBadUtf8Byte(bytes))]
    return fail(text, `not valid UTF-8 text (byte 0x${bad.toString(16).padStart(2, '0')}); save the file as UTF-8`)
  }
  return parseText(text, absolute)
}

function decodeUtf8(bytes: Buffer, absolute: string): string | Located {
  try {
    return new TextDecoder('utf-8', {fatal: true}).decode(bytes)
  } catch {
    return positionOfByte(bytes, Math.max(0, firstBadUtf8Byte(bytes)), absolute)
  }
}

/** Index of the first byte that starts no valid UTF-8 sequence (a position for the message). */
function firstBadUtf8Byte(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]
    const continuation = lead < 0x80 ? 0 : lead >= 0xc2 && lead < 0xe0 ? 1 : lead >= 0xe0 && lead < 0xf0 ? 2 : lead >= 0xf0 && lead < 0xf5 ? 3 : -1
    if (continuation < 0) return i
    for (let k = 1; k <= continuation; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i
    i += continuation + 1
  }
  return -1
}

function positionOfByte(bytes: Buffer, index: number, absolute: string): Located {
  const before = bytes.subarray(0, index)
  let line = 1
  let lineStart = 0
  for (let i = 0; i < before.length; i++) {
    if (before[i] === 0x0a) {
      line++
      lineStart = i + 1
    }
  }
  return {file: displayPath(absolute), path: absolute, line, col: index - lineStart + 1}
}

export function parseText(text: string, absolute: string): ParseResult {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2'})
  const at = (offset: number): Located => {
    const {line, col} = lineCounter.linePos(offset)
    return {file: displayPath(absolute), path: absolute, line, col}
  }
  if (doc.errors.length > 0) {
    const diagnostics: Diagnostic[] = []
    for (const error of doc.errors) {
      const {offset, message} = yamlError(error, doc, text)
      const location = at(offset)
      // One message per place: the parser often reports one mistake twice.
      if (diagnostics.some((seen) => seen.location.line === location.line && seen.location.col === location.col)) continue
      diagnostics.push({location, message: `YAML syntax error: ${message}`})
    }
    return {ok: false, diagnostics}
  }
  if (doc.contents === null) return fail(at(0), 'file has only comments, no keys')
  if (!isMap(doc.contents)) {
    const offset = doc.contents.range?.[0] ?? 0
    // A scalar's value is not echoed: this may be any file named by mistake (or on purpose), /etc/shadow say.
    const what = isSeq(doc.contents) ? 'a list' : isScalar(doc.contents) ? `a ${typeof doc.contents.value}` : 'something else'
    return fail(at(offset), `a treefile must be a mapping of keys to values, not ${what}`)
  }
  let value: unknown
  try {
    value = doc.toJS({maxAliasCount: MAX_ALIAS_COUNT})
  } catch (error) {
    if (error instanceof ReferenceError) {
      return fail(at(firstAliasOffset(doc)), `YAML aliases expand too much (more than ${MAX_ALIAS_COUNT}); refusing a possible alias bomb`)
    }
    throw error
  }
  const origins: Origins = new Map()
  collectOrigins(doc.contents, '', origins, at)
  return {ok: true, file: {path: absolute, value: value as Record<string, unknown>, origins}}
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
  return `${first.charAt(0).toLowerCase()}${first.slice(1)}`
}

/**
 * The yaml library's error, said in the treefile's terms and placed where the
 * user has to look: an unclosed quote or bracket is noticed only at the end of
 * the file, but the fix is where it opens.
 */
function yamlError(error: YAMLError, doc: Document, text: string): {offset: number; message: string} {
  const offset = error.pos[0]
  switch (error.code) {
    case 'MULTIPLE_DOCS':
      return {offset, message: 'a treefile is a single YAML document; this "---" starts a second one'}
    case 'DUPLICATE_KEY': {
      const key = duplicateKey(doc, offset, text)
      return {offset, message: key ? `duplicate key "${key.name}" (first at line ${key.firstLine})` : 'duplicate key'}
    }
    case 'BAD_INDENT':
    case 'MISSING_CHAR': {
      const kind = /closing "?quote/i.test(error.message) ? 'quote' : /flow sequence/i.test(error.message) ? 'seq' : /flow map/i.test(error.message) ? 'map' : undefined
      const opening = kind ? unclosedNode(doc, offset, kind, text) : undefined
      if (opening !== undefined) {
        if (kind === 'quote') return {offset: opening, message: `quoted string is never closed (missing closing ${text[opening]})`}
        const [open, close] = kind === 'seq' ? ['[', ']'] : ['{', '}']
        return {offset: opening, message: `"${open}" is never closed (missing "${close}")`}
      }
      if (/^Implicit map keys need to be followed by map values/.test(error.message)) {
        return {offset, message: 'expected "key: value" or "- item" here (a ":" or "- " is missing)'}
      }
      // Misaligned keys: the position is the start of the line; point at the key.
      if (/^All mapping items must start at the same column/.test(error.message)) {
        const indent = /^[ ]*/.exec(text.slice(offset))?.[0].length ?? 0
        return {offset: offset + indent, message: 'this line is not aligned with the keys above it'}
      }
      return {offset, message: yamlMessage(error.message)}
    }
    default:
      return {offset, message: yamlMessage(error.message)}
  }
}

/** The key at `offset` that repeats an earlier key of its mapping, and that key's line. */
function duplicateKey(doc: Document, offset: number, text: string): {name: string; firstLine: number} | undefined {
  let found: {name: string; firstLine: number} | undefined
  visit(doc, {
    Map(_, map) {
      const keys = map.items.map((pair) => pair.key as Node | null)
      const index = keys.findIndex((key) => key?.range?.[0] === offset)
      if (index < 0) return undefined
      const name = String(isScalar(keys[index]) ? keys[index].value : keys[index])
      const first = keys.find((key) => String(isScalar(key) ? key.value : key) === name)
      const firstOffset = first?.range?.[0] ?? 0
      found = {name, firstLine: text.slice(0, firstOffset).split('\n').length}
      return visit.BREAK
    },
  })
  return found
}

/** Start of the innermost quoted string or flow collection left open at `offset`. */
function unclosedNode(doc: Document, offset: number, kind: 'quote' | 'seq' | 'map', text: string): number | undefined {
  let start: number | undefined
  visit(doc, {
    Node(_, node) {
      const range = node.range
      if (!range || range[0] >= offset || range[1] < offset) return
      const matches =
        kind === 'quote' ? isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') : isCollection(node) && node.flow && (kind === 'seq' ? isSeq(node) : isMap(node))
      // A collection that does end with its bracket is closed: the error is about something else.
      const closed = kind !== 'quote' && text.slice(range[0], range[1]).trimEnd().endsWith(kind === 'seq' ? ']' : '}')
      if (matches && !closed && (start === undefined || range[0] > start)) start = range[0]
    },
  })
  return start
}

function firstAliasOffset(doc: Document): number {
  let offset = 0
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0] ?? 0
      return visit.BREAK
    },
  })
  return offset
}

function collectOrigins(node: Node | null, ptr: string, origins: Origins, at: (offset: number) => Located): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null
      const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode)
      const keyAt = at(keyNode?.range?.[0] ?? 0)
      const valueNode = pair.value as Node | null
      const child = ptr + pointer(key)
      const hasValue = valueNode?.range && !(isScalar(valueNode) && valueNode.value === null && valueNode.range[0] === valueNode.range[1])
      origins.set(child, {key: keyAt, value: hasValue ? at(valueNode.range![0]) : keyAt})
      collectOrigins(valueNode, child, origins, at)
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      const child = ptr + pointer(index)
      const itemNode = item as Node | null
      origins.set(child, {value: at(itemNode?.range?.[0] ?? node.range?.[0] ?? 0)})
      if (!isAlias(itemNode)) collectOrigins(itemNode, child, origins, at)
    })
  }
}
