import {expect, test} from 'vitest'
import {mmdebstrapCommand} from '../../src/tools/mmdebstrap.js'

test('preferences are copied in before the install; those not kept are removed from the tree after it', () => {
  const command = mmdebstrapCommand({
    suite: 'trixie',
    sourcesFile: '/scratch/apt-ostree.sources',
    variant: 'apt',
    arch: 'amd64',
    packages: ['systemd'],
    recommends: false,
    dpkgOptions: [],
    target: '/scratch/rootfs',
    preferences: [
      {file: '/scratch/preferences.d/apt-ostree-exclude.pref', keep: true},
      {file: '/scratch/preferences.d/apt-ostree-lock.pref', keep: false},
    ],
    keptSources: '/scratch/kept.sources',
    keptSourcesName: '0000apt-ostree.sources',
  })
  expect(command.filter((arg) => arg.startsWith('--setup-hook=copy-in'))).toEqual([
    '--setup-hook=copy-in /scratch/preferences.d/apt-ostree-exclude.pref /etc/apt/preferences.d/',
    '--setup-hook=copy-in /scratch/preferences.d/apt-ostree-lock.pref /etc/apt/preferences.d/',
  ])
  expect(command.filter((arg) => arg.startsWith('--customize-hook=rm'))).toEqual(['--customize-hook=rm "$1/etc/apt/preferences.d/apt-ostree-lock.pref"'])
  expect(command.slice(-3)).toEqual(['trixie', '/scratch/rootfs', '/scratch/apt-ostree.sources'])
})
