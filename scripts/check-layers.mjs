#!/usr/bin/env node
// The layers of src/ and what each may import (docs/architecture.md): a
// module imports only from its own layer or the ones below it, and no
// modules import each other in a circle. Run by `npm run lint`; prints each
// violation as FILE: message and exits 1 when there is one.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

/** Bottom to top. A layer is a directory of src/ or a list of files at its top. The top one holds the programs: the CLI's commands and the worker. */
export const LAYERS = [
  ['base', ['errors.ts', 'fs.ts', 'hash.ts', 'version.ts', 'system-files.ts', 'arch.ts', 'file-tree.ts', 'text.ts', 'settle.ts', 'clock.ts']],
  ['tools', ['tools/']],
  ['sandbox', ['sandbox/']],
  ['workspace', ['cache-dir.ts', 'lock.ts', 'workspace.ts', 'host-check.ts']],
  ['treefile', ['treefile/']],
  ['dpkg', ['dpkg/']],
  ['ostree', ['ostree/']],
  ['archive', ['archive/']],
  ['bootstrap', ['bootstrap/']],
  ['postprocess', ['postprocess/']],
  ['oci', ['oci/']],
  ['lint', ['lint/']],
  ['vm', ['vm/']],
  ['compose', ['compose/']],
  ['cli', ['cli/']],
  ['commands', ['commands/', 'worker/']],
]

function layerOf(relative) {
  const index = LAYERS.findIndex(([, members]) => members.some((member) => (member.endsWith('/') ? relative.startsWith(member) : relative === member)))
  return index === -1 ? undefined : index
}

function sourceFiles(directory, base = directory) {
  return readdirSync(directory).flatMap((name) => {
    const file = path.join(directory, name)
    if (statSync(file).isDirectory()) return sourceFiles(file, base)
    return file.endsWith('.ts') ? [path.relative(base, file)] : []
  })
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g

/** The relative imports of each file of SRC, as paths relative to SRC. */
export function importGraph(src) {
  const graph = new Map()
  for (const file of sourceFiles(src)) {
    const text = readFileSync(path.join(src, file), 'utf8')
    const targets = new Set()
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]
      targets.add(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts'))
    }
    graph.set(file, [...targets].sort())
  }
  return graph
}

/** Import cycles, each as the files in it (Tarjan's strongly connected components). */
function cycles(graph) {
  let counter = 0
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const found = []
  const visit = (file) => {
    index.set(file, counter)
    low.set(file, counter++)
    stack.push(file)
    onStack.add(file)
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue
      if (!index.has(next)) {
        visit(next)
        low.set(file, Math.min(low.get(file), low.get(next)))
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file), index.get(next)))
    }
    if (low.get(file) !== index.get(file)) return
    const component = []
    let member
    do {
      member = stack.pop()
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component.sort())
  }
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file)
  return found
}

/** Every violation in SRC: files outside the layers, imports that point up, cycles. */
export function checkLayers(src) {
  const graph = importGraph(src)
  const problems = []
  for (const [file, targets] of graph) {
    const layer = layerOf(file)
    if (layer === undefined) {
      problems.push(`${file}: in no layer; add it to LAYERS in scripts/check-layers.mjs and docs/architecture.md`)
      continue
    }
    for (const target of targets) {
      const targetLayer = layerOf(target)
      if (targetLayer !== undefined && targetLayer > layer) {
        problems.push(`${file}: imports ${target}, which is in layer "${LAYERS[targetLayer][0]}" above its own ("${LAYERS[layer][0]}")`)
      }
    }
  }
  for (const component of cycles(graph)) problems.push(`${component[0]}: import cycle: ${component.join(' -> ')}`)
  return problems
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const src = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../src'))
  const problems = checkLayers(src)
  for (const problem of problems) console.error(`src/${problem}`)
  process.exit(problems.length > 0 ? 1 : 0)
}
