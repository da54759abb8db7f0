import {cpSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, test} from 'vitest'
// @ts-expect-error: a plain .mjs script, without type declarations
import {checkLayers} from '../../scripts/check-layers.mjs'
import {repoRoot} from '../helpers/cli.js'

const check = checkLayers as (src: string) => string[]
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-layers-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

describe('the layer check (npm run lint)', () => {
  test('src/ as it is passes', () => {
    expect(check(path.join(repoRoot, 'src'))).toEqual([])
  })

  /** A copy of src/ with FILES added. */
  const sourcesWith = (name: string, files: Record<string, string>): string => {
    const src = path.join(work, name)
    cpSync(path.join(repoRoot, 'src'), src, {recursive: true})
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(src, file), text)
    return src
  }

  test('an import pointing up a layer fails, naming both files and layers', () => {
    const src = sourcesWith('upward', {'treefile/upward.ts': "import {composeTree} from '../compose/tree.js'\nexport const x = composeTree\n"})
    expect(check(src)).toEqual(['treefile/upward.ts: imports compose/tree.ts, which is in layer "compose" above its own ("treefile")'])
  })

  test('a cycle fails, even within a layer', () => {
    const src = sourcesWith('cycle', {'dpkg/a.ts': "import {b} from './b.js'\nexport const a = b\n", 'dpkg/b.ts': "import {a} from './a.js'\nexport const b = a\n"})
    expect(check(src)).toEqual(['dpkg/a.ts: import cycle: dpkg/a.ts -> dpkg/b.ts'])
  })

  test('a file in no layer fails', () => {
    const src = sourcesWith('stray', {'stray.ts': 'export const stray = 1\n'})
    expect(check(src)).toEqual(['stray.ts: in no layer; add it to LAYERS in scripts/check-layers.mjs and docs/architecture.md'])
  })
})
