import {createHash} from 'node:crypto'
import {readdir, readFile} from 'node:fs/promises'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

/** The tool's version, from package.json: part of every input hash. */
export const TOOL_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {version: string}).version

let codeDigest: Promise<string> | undefined

/**
 * sha256 of the tool's running code: every file below the directory this
 * module runs from (dist/, or src/ when run from source), by path, and
 * package.json. Part of the input hash, so a development build with changed
 * code is another tool even at the same version. tsc writes the same files
 * from the same sources, so a fresh clone of one commit gets one digest.
 */
export function toolCodeDigest(): Promise<string> {
  codeDigest ??= (async () => {
    const root = path.dirname(fileURLToPath(import.meta.url))
    const files = (await readdir(root, {recursive: true, withFileTypes: true})).filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    const hash = createHash('sha256')
    const add = (name: string, content: Buffer): void => {
      hash.update(`${name}\0${content.length}\0`).update(content)
    }
    for (const file of files.sort()) add(file, await readFile(path.join(root, file)))
    add('package.json', await readFile(new URL('../package.json', import.meta.url)))
    return hash.digest('hex')
  })()
  return codeDigest
}
