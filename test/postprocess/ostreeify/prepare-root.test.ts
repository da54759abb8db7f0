import {expect, test} from 'vitest'
import {ostreeFeatures} from '../../../src/postprocess/ostreeify/prepare-root.js'

// `ostree --version` as trixie's 2025.2 and forky's 2026.4 print it (read from composed trees).
const version = (release: string, features: string[]): string =>
  `libostree:\n Version: '${release}'\n Features:\n${features.map((feature) => `  - ${feature}\n`).join('')}`

test('reads the feature list of ostree --version', () => {
  expect(ostreeFeatures(version('2025.2', ['inode64', 'initial-var', 'libcurl', 'ex-fsverity', 'systemd', 'p2p']))).toEqual(['inode64', 'initial-var', 'libcurl', 'ex-fsverity', 'systemd', 'p2p'])
  expect(ostreeFeatures(version('2026.4', ['inode64', 'gpgme', 'composefs', 'ex-fsverity']))).toContain('composefs')
  expect(ostreeFeatures(version('2025.2', ['inode64', 'ex-fsverity']))).not.toContain('composefs')
  expect(ostreeFeatures('libostree:\n Version: \'2022.7\'\n Features:\n')).toEqual([])
})
