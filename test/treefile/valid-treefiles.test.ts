import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, test} from 'vitest'
import {loadTreefile, printableTreefile} from '../../src/treefile/index.js'
import {repoRoot} from '../helpers/cli.js'

// Every example treefile loads, and merges to the JSON committed beside the
// invalid corpus. To update after an intended change:
//   ./bin/run.js compose validate treefiles/NAME.yaml --arch amd64 --print > test/fixtures/valid/NAME.json
// and read the diff: included content first in lists, the includer winning for
// scalars, maps merged key by key.
const treefiles = readdirSync(path.join(repoRoot, 'treefiles')).filter((name) => name.endsWith('.yaml')).sort()

describe('example treefiles', () => {
  test('there are examples to check', () => {
    expect(treefiles.length).toBeGreaterThan(0)
  })

  test.each(treefiles)('%s merges to the expected JSON', async (name) => {
    const resolved = await loadTreefile(path.join(repoRoot, 'treefiles', name), {arch: 'amd64'})
    const expected = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/valid', name.replace(/\.yaml$/, '.json')), 'utf8')) as unknown
    expect(printableTreefile(resolved)).toEqual(expected)
  })

  test('the server treefile follows the merge rules', async () => {
    const resolved = await loadTreefile(path.join(repoRoot, 'treefiles/debian-trixie-server.yaml'), {arch: 'amd64'})
    const tree = resolved.treefile
    // Lists: included content first (base.yaml's own arch-include before base.yaml, conditional includes after).
    expect(tree.packages.slice(0, 3)).toEqual(['linux-image-amd64', 'grub-efi-amd64-bin', 'systemd'])
    expect(tree.packages.at(-1)).toBe('sudo')
    expect(tree.repos.map((repo) => repo.name)).toEqual(['debian', 'debian-security', 'debian-nonfree-firmware'])
    // Maps: merged, the includer's keys added to the included ones.
    expect(tree.variables).toEqual({codename: 'trixie', name: 'server', role: 'server'})
    // Scalars: substituted with the merged variables.
    expect(tree.ref).toBe('debian/13/amd64/server')
    expect(tree['add-commit-metadata']).toEqual({'org.debian.variant': 'server'})
    // The files read: the top-level one first, then in the order they were read.
    expect(resolved.treefiles.map((file) => path.relative(repoRoot, file))).toEqual([
      'treefiles/debian-trixie-server.yaml',
      'treefiles/include/debian-trixie.yaml',
      'treefiles/include/base.yaml',
      'treefiles/include/kernel-amd64.yaml',
      'treefiles/include/server.yaml',
      'treefiles/include/trixie-amd64-firmware.yaml',
    ])
  })
})
