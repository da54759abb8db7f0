import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {loadTreefile} from '../../src/treefile/index.js'
import type {Located, Origins} from '../../src/treefile/location.js'
import {mergeTrees, type Tree} from '../../src/treefile/merge.js'

function at(file: string, line: number): Located {
  return {file, path: `/${file}`, line, col: 1}
}

/** A tree whose every top-level value and list item is located in `file`, one line each. */
function tree(file: string, value: Record<string, unknown>): Tree {
  const origins: Origins = new Map()
  let line = 1
  for (const [key, item] of Object.entries(value)) {
    origins.set(`/${key}`, {key: at(file, line), value: at(file, line)})
    line++
    if (Array.isArray(item)) item.forEach((_, index) => origins.set(`/${key}/${index}`, {value: at(file, line++)}))
    else if (typeof item === 'object' && item !== null) for (const name of Object.keys(item)) origins.set(`/${key}/${name}`, {value: at(file, line++)})
  }
  return {value, origins}
}

describe('mergeTrees (rpm-ostree rules)', () => {
  test('scalars: the including file wins, and its origin is kept', () => {
    const merged = mergeTrees(tree('base.yaml', {ref: 'base', recommends: true}), tree('top.yaml', {ref: 'top'}))
    expect(merged.value).toEqual({ref: 'top', recommends: true})
    expect(merged.origins.get('/ref')?.value.file).toBe('top.yaml')
    expect(merged.origins.get('/recommends')?.value.file).toBe('base.yaml')
  })

  test('lists: concatenated, included content first, origins renumbered', () => {
    const merged = mergeTrees(tree('base.yaml', {packages: ['systemd', 'udev']}), tree('top.yaml', {packages: ['less']}))
    expect(merged.value.packages).toEqual(['systemd', 'udev', 'less'])
    expect(merged.origins.get('/packages/0')?.value.file).toBe('base.yaml')
    expect(merged.origins.get('/packages/2')?.value).toEqual(at('top.yaml', 2))
  })

  test('maps (variables, add-commit-metadata, metadata): merged key by key, the includer winning', () => {
    const base = tree('base.yaml', {variables: {codename: 'trixie', name: 'base'}, 'add-commit-metadata': {a: '1'}, metadata: {x: 1}})
    const top = tree('top.yaml', {variables: {name: 'top'}, 'add-commit-metadata': {b: '2'}, metadata: {x: 2}})
    const merged = mergeTrees(base, top)
    expect(merged.value.variables).toEqual({codename: 'trixie', name: 'top'})
    expect(merged.value['add-commit-metadata']).toEqual({a: '1', b: '2'})
    expect(merged.value.metadata).toEqual({x: 2})
    expect(merged.origins.get('/variables/codename')?.value.file).toBe('base.yaml')
    expect(merged.origins.get('/variables/name')?.value.file).toBe('top.yaml')
  })

  test('a value of another type replaces the included one', () => {
    const merged = mergeTrees(tree('base.yaml', {include: 'x.yaml', units: ['a.service']}), tree('top.yaml', {units: 'b.service'}))
    expect(merged.value.units).toBe('b.service')
    expect(merged.origins.has('/units/0')).toBe(false)
  })

  test('include, arch-include and conditional-include are consumed, not merged', () => {
    const merged = mergeTrees(tree('base.yaml', {}), tree('top.yaml', {include: 'a.yaml', 'arch-include': {amd64: 'b.yaml'}, 'conditional-include': [], ref: 'r'}))
    expect(merged.value).toEqual({ref: 'r'})
  })
})

describe('loadTreefile merge order', () => {
  let directory: string
  const write = (name: string, text: string): Promise<void> => writeFile(path.join(directory, name), text)

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'apt-ostree-merge-'))
    await write('top.yaml', `ref: test/\${flavour}
container: true
repos: [{name: debian, uris: ["http://deb.debian.org/debian"], suites: [trixie], trusted: true}]
variables: {flavour: top}
include: [a.yaml, b.yaml]
arch-include: {amd64: amd64.yaml, arm64: arm64.yaml}
conditional-include:
  - if: flavour == 'top'
    include: cond.yaml
packages: [pkg-top]
variant: apt
`)
    await write('a.yaml', 'include: c.yaml\npackages: [pkg-a]\nvariant: buildd\nvariables: {flavour: a, fromA: true}\n')
    await write('b.yaml', 'packages: [pkg-b]\nvariant: important\nrecommends: true\n')
    await write('c.yaml', 'packages: [pkg-c]\nrecommends: false\ndocumentation: false\n')
    await write('amd64.yaml', 'packages: [amd64-only]\n')
    await write('arm64.yaml', 'packages: [arm64-only]\n')
    await write('cond.yaml', 'packages: [conditional]\n')
  })

  afterAll(async () => {
    await rm(directory, {recursive: true, force: true})
  })

  test('includes, then arch-include, then conditional-include, then the file itself', async () => {
    const {treefile} = await loadTreefile(path.join(directory, 'top.yaml'), {arch: 'amd64'})
    expect(treefile.packages).toEqual(['pkg-c', 'pkg-a', 'pkg-b', 'amd64-only', 'conditional', 'pkg-top'])
    // Scalars: the includer beats its includes; a later include beats an earlier one.
    expect(treefile.variant).toBe('apt')
    expect(treefile.recommends).toBe(true)
    expect(treefile.documentation).toBe(false)
    // Variables: the includer's win, the included ones are kept.
    expect(treefile.variables).toEqual({flavour: 'top', fromA: true})
    expect(treefile.ref).toBe('test/top')
  })

  test('arch-include follows the architecture asked for', async () => {
    const {treefile} = await loadTreefile(path.join(directory, 'top.yaml'), {arch: 'arm64'})
    expect(treefile.packages).toEqual(['pkg-c', 'pkg-a', 'pkg-b', 'arm64-only', 'conditional', 'pkg-top'])
  })
})
