import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {layerName, packComponents, readPreviousPacking, UNPACKAGED} from '../../src/oci/chunking.js'

const components = (sizes: Record<string, number>) => Object.entries(sizes).map(([name, size]) => ({name, size}))

describe('packComponents', () => {
  it('gives each component a layer when they fit, then unowned files, then an empty reserved layer', () => {
    expect(packComponents(components({a: 10, b: 30, [UNPACKAGED]: 5}), 8)).toEqual([['b'], ['a'], [UNPACKAGED], []])
  })

  it('keeps the biggest alone and the long tail together within max-layers', () => {
    const packing = packComponents(components({kernel: 900, initramfs: 500, libc: 100, a: 3, b: 2, c: 1, [UNPACKAGED]: 5}), 5)
    expect(packing).toEqual([['kernel'], ['initramfs'], ['a', 'b', 'c', 'libc'], [UNPACKAGED], []])
    expect(packing.length).toBeLessThanOrEqual(5)
  })

  it('keeps a previous grouping: removed components drop out, new ones join the last layer', () => {
    const previous = [['kernel'], ['a', 'b'], [UNPACKAGED], []]
    expect(packComponents(components({kernel: 9, a: 1, c: 1, d: 2, [UNPACKAGED]: 1}), 64, previous)).toEqual([['kernel'], ['a'], [UNPACKAGED], ['c', 'd']])
  })

  it('refuses fewer than 4 layers', () => {
    expect(() => packComponents(components({a: 1}), 3)).toThrow('--max-layers must be an integer of at least 4 (got 3)')
  })
})

describe('layerName', () => {
  it('names layers as ostree-ext does', () => {
    expect(layerName([])).toBe('Reserved for new packages')
    expect(layerName(['a', 'b'])).toBe('a and b')
    expect(layerName(['a', 'b', 'c', 'd', 'e', 'f'])).toBe('6 components')
  })
})

describe('readPreviousPacking', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-manifest-'))
  })
  afterAll(() => rm(dir, {recursive: true, force: true}))
  let written = 0
  const write = async (text: string): Promise<string> => {
    const file = path.join(dir, `${++written}-manifest.json`)
    await writeFile(file, text)
    return file
  }

  it('reads ostree.components of every layer', async () => {
    const file = await write(JSON.stringify({layers: [{annotations: {'ostree.components': 'b,a'}}, {annotations: {'ostree.components': ''}}]}))
    expect(await readPreviousPacking(file)).toEqual([['b', 'a'], []])
  })

  it('rejects corrupt JSON, a manifest without annotations and a missing file', async () => {
    await expect(readPreviousPacking(await write('{"layers": ['))).rejects.toThrow(/manifest.json: the previous build manifest is not valid JSON/)
    await expect(readPreviousPacking(await write('{"layers": [{}]}'))).rejects.toThrow(/missing ostree.components on prior build/)
    await expect(readPreviousPacking('/nonexistent/manifest.json')).rejects.toThrow('/nonexistent/manifest.json: cannot read the previous build manifest (ENOENT)')
  })
})
