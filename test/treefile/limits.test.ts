import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {TreefileError} from '../../src/errors.js'
import {loadTreefile} from '../../src/treefile/index.js'

// Hostile inputs, generated here rather than committed: each must be refused
// with one located message, never by running out of time or memory. The
// loader does linear work on each; the test timeout is only a safety net.
let directory: string

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'apt-ostree-limits-'))
})

afterAll(async () => {
  await rm(directory, {recursive: true, force: true})
})

async function rejection(file: string): Promise<TreefileError> {
  const error = await loadTreefile(file, {arch: 'amd64'}).then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(TreefileError)
  return error as TreefileError
}

describe('treefile limits', {timeout: 60_000}, () => {
  test('a 10 MB treefile is refused by its size', async () => {
    const file = path.join(directory, 'huge.yaml')
    const line = '  - systemd\n'
    await writeFile(file, 'ref: debian/13/amd64/huge\npackages:\n' + line.repeat(Math.ceil((10 * 1024 * 1024) / line.length)))
    const error = await rejection(file)
    expect(error.diagnostics).toHaveLength(1)
    expect(error.diagnostics[0].location).toMatchObject({line: 1, col: 1})
    expect(error.diagnostics[0].message).toBe('file is too large (10.5 MB; a treefile may be at most 1 MiB)')
  })

  test('a billion-laughs alias bomb is refused', async () => {
    // Nine levels of ten aliases each: 10^9 strings if expanded.
    const file = path.join(directory, 'bomb.yaml')
    const levels = ['  l0: &l0 [' + Array(10).fill('"lol"').join(', ') + ']']
    for (let level = 1; level < 9; level++) levels.push(`  l${level}: &l${level} [${Array(10).fill(`*l${level - 1}`).join(', ')}]`)
    await writeFile(file, `ref: debian/13/amd64/bomb\ncontainer: true\npackages: [systemd]\nmetadata:\n${levels.join('\n')}\n`)
    const error = await rejection(file)
    expect(error.diagnostics).toHaveLength(1)
    // At the first alias: line 6 is `  l1: &l1 [*l0, ...`.
    expect(error.diagnostics[0].location).toMatchObject({line: 6, col: 12})
    expect(error.diagnostics[0].message).toMatch(/^YAML aliases expand too much/)
  })

  test('a wide alias bomb (many aliases of one large anchor) is refused', async () => {
    const file = path.join(directory, 'wide.yaml')
    const anchor = '  big: &big [' + Array(5000).fill('x').join(', ') + ']'
    const aliases = Array.from({length: 5000}, (_, index) => `  a${index}: *big`)
    await writeFile(file, `ref: debian/13/amd64/wide\ncontainer: true\npackages: [systemd]\nmetadata:\n${anchor}\n${aliases.join('\n')}\n`)
    const error = await rejection(file)
    expect(error.diagnostics[0].message).toMatch(/^YAML aliases expand too much/)
  })

  test('a 900 KB value is quoted in part, with its length, in one line', async () => {
    const file = path.join(directory, 'long-value.yaml')
    await writeFile(file, `ref: debian/13/amd64/long\ncontainer: true\npackages: [systemd]\nopt-usrlocal: "${'x'.repeat(900_000)}"\n`)
    const error = await rejection(file)
    expect(error.diagnostics).toHaveLength(1)
    expect(error.message).not.toContain('\n')
    expect(error.message.length).toBeLessThan(300)
    expect(error.message).toMatch(/"opt-usrlocal" must be one of var, root, not "x{60}…" \(900000 characters\)$/)
  })

  test('50 000 packages (listed and excluded) are checked, each reported once', async () => {
    const file = path.join(directory, 'many.yaml')
    const names = Array.from({length: 50_000}, (_, index) => `pkg${index}`)
    await writeFile(file, [
      'ref: debian/13/amd64/many', 'container: true',
      'repos: [{name: debian, uris: ["http://deb.debian.org/debian"], suites: [trixie], trusted: true}]',
      `packages: [${names.join(', ')}]`, `exclude-packages: [${names.slice(0, 3).join(', ')}]`, '',
    ].join('\n'))
    const error = await rejection(file)
    expect(error.diagnostics.map((diagnostic) => diagnostic.message)).toEqual(
      names.slice(0, 3).map((name) => expect.stringMatching(new RegExp(`^package "${name}" is both excluded and listed at `))),
    )
  })
})
