import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, test} from 'vitest'
import {nameProblem} from '../../src/archive/names.js'
import {quoted} from '../../src/text.js'
import {repoRoot} from '../helpers/cli.js'

// The schema refuses a bad suite or component at its treefile line; the
// archive code checks them again where they become paths. Both must draw
// the line in the same place.
const schema = JSON.parse(readFileSync(path.join(repoRoot, 'schemas/treefile.schema.json'), 'utf8')) as {$defs: {repo: {properties: Record<string, {items: {pattern: string}}>}}}

const good = ['trixie', 'trixie-updates', 'bookworm/updates', 'main', 'non-free-firmware', 'stable', 'jammy-security', 'v1.0_beta', 'updates/main']
const bad = ['', '.', '..', '../../tmp/x', 'trixie/../../tmp/x', 'trixie/.', '/trixie', 'trixie/', 'a//b', 'trixie updates', 'trixie\n', 'trixie\ttab', 'trixie\x1b', '-trixie', 'trixie\\x', 'trixie/-x']

describe.each(['suite', 'component'] as const)('a %s', (kind) => {
  const pattern = new RegExp(schema.$defs.repo.properties[`${kind}s`].items.pattern, 'u')

  test.each(good)('%j is one, for the schema and the archive code', (name) => {
    expect(pattern.test(name)).toBe(true)
    expect(nameProblem(kind, name)).toBeUndefined()
  })

  test.each(bad)('%j is none, for the schema and the archive code', (name) => {
    expect(pattern.test(name)).toBe(false)
    expect(nameProblem(kind, name)).toMatch(new RegExp(`^${kind} ".*" is not a ${kind} name`))
  })
})

test('a Filename is a relative path of the characters Debian pool paths use', () => {
  for (const name of ['pool/main/g/glibc/libc6_2.41-12_amd64.deb', 'pool/main/g/gcc-14/libstdc++6_14.2.0-19_amd64.deb', 'pool/main/a/apt/apt_3.0.3~exp1_amd64.deb', 'pool/main/x/xz/xz_5.8.1-1%3a_amd64.deb', 'pool/main/e/epoch/e_1:2.0_all.deb']) {
    expect(nameProblem('filename', name)).toBeUndefined()
  }
  for (const name of ['', '/pool/x.deb', 'pool/../x.deb', 'pool/./x.deb', './pool/x.deb', 'pool//x.deb', 'pool/x.deb/', 'pool\\x.deb', 'pool/x y.deb', 'pool/x\n.deb', 'pool/x\u202e.deb', 'pool/x"$(id)".deb']) {
    expect(nameProblem('filename', name)).toBe(`Filename ${quoted(name)} is not a path below the archive`)
  }
})
