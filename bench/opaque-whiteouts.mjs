#!/usr/bin/env node
// Opaque whiteouts benchmark: an image of ENTRIES entries, directories of
// one file, then a layer that makes every directory opaque (one
// `.wh..wh..opq` and one new file each), read as `container lint` reads it.
// Prints the seconds for 1 000 and 16 000 entries, measured in this one run,
// and their ratio: 16 when the cost grows with the entries, 256 when each
// opaque whiteout rescans the whole tree. Runs from the sources (tsx); no
// build, no root.
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {tsImport} from 'tsx/esm/api'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const {treeFromImage} = await tsImport(path.join(root, 'src/lint/load.ts'), import.meta.url)
const {tarOf, writeLayout} = await tsImport(path.join(root, 'test/lint/oci-fixture.ts'), import.meta.url)
const FILES_PER_DIRECTORY = 1

/** The layout of the image of ENTRIES entries, and the entries its tree must have. */
async function image(work, entries) {
  const directories = Math.round(entries / (FILES_PER_DIRECTORY + 1))
  const names = Array.from({length: directories}, (_, index) => `usr/share/d${index}`)
  const base = await tarOf(names.flatMap((name) => [{name, type: 'directory'}, ...Array.from({length: FILES_PER_DIRECTORY}, (_, file) => ({name: `${name}/f${file}`, content: 'x'}))]))
  const opaque = await tarOf(names.flatMap((name) => [{name: `${name}/.wh..wh..opq`}, {name: `${name}/new`, content: 'y'}]))
  const layout = path.join(work, String(entries))
  writeLayout(layout, [base, opaque], 'bench')
  // Root, /usr, /usr/share, and each directory with only its new file.
  return {reference: `oci:${layout}:bench`, expected: 3 + 2 * directories}
}

async function seconds(work, entries) {
  const {reference, expected} = await image(work, entries)
  const start = process.hrtime.bigint()
  const tree = await treeFromImage(reference)
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9
  if (tree.size !== expected) throw new Error(`${entries} entries: the tree has ${tree.size} entries, not ${expected}`)
  return elapsed
}

const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-bench-whiteouts-'))
try {
  // A first, unmeasured read loads the modules and warms the JIT.
  await seconds(work, 1000)
  const small = await seconds(work, 1000)
  const large = await seconds(work, 16000)
  console.log(`1 000 entries: ${small.toFixed(3)} s`)
  console.log(`16 000 entries: ${large.toFixed(3)} s`)
  console.log(`ratio: ${(large / small).toFixed(1)} (16 is linear, 256 quadratic)`)
} finally {
  rmSync(work, {recursive: true, force: true})
}
