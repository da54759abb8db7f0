import {expect, test} from 'vitest'
import {mmdebstrapCommand} from '../../src/tools/mmdebstrap.js'

const BOOTSTRAP = {
  suite: 'trixie',
  sourcesFile: '/scratch/apt-ostree.sources',
  variant: 'apt',
  arch: 'amd64',
  packages: ['systemd'],
  recommends: false,
  dpkgOptions: [],
  target: '/scratch/rootfs',
  keptSources: '/scratch/kept.sources',
  keptSourcesName: '0000apt-ostree.sources',
}

test('preferences are copied in before the install; those not kept are removed from the tree after it', () => {
  const command = mmdebstrapCommand({
    ...BOOTSTRAP,
    preferences: [
      {file: '/scratch/preferences.d/apt-ostree-exclude.pref', keep: true},
      {file: '/scratch/preferences.d/apt-ostree-lock.pref', keep: false},
    ],
  })
  expect(command.filter((arg) => arg.startsWith('--setup-hook=copy-in'))).toEqual([
    '--setup-hook=copy-in /scratch/preferences.d/apt-ostree-exclude.pref /etc/apt/preferences.d/',
    '--setup-hook=copy-in /scratch/preferences.d/apt-ostree-lock.pref /etc/apt/preferences.d/',
  ])
  expect(command.filter((arg) => arg.startsWith('--customize-hook=rm'))).toEqual(['--customize-hook=rm "$1/etc/apt/preferences.d/apt-ostree-lock.pref"'])
  expect(command.slice(-3)).toEqual(['trixie', '/scratch/rootfs', '/scratch/apt-ostree.sources'])
})

test('native programs are synced into the empty tree before anything is installed, first on dpkg\'s PATH', () => {
  const command = mmdebstrapCommand({
    ...BOOTSTRAP,
    arch: 'arm64',
    nativePrograms: {from: '/scratch/native-programs', to: '/run/apt-ostree/native'},
  })
  expect(command.filter((arg) => arg.startsWith('--setup-hook='))).toEqual([
    '--setup-hook=mkdir -p "$1/etc/apt/preferences.d"',
    '--setup-hook=mkdir -p "$1/run/apt-ostree/native"',
    '--setup-hook=sync-in /scratch/native-programs /run/apt-ostree/native',
  ])
  // apt sets dpkg's PATH from DPkg::Path; the option leaves the tree's apt config once the packages are in.
  expect(command).toContain('--aptopt=DPkg::Path "/run/apt-ostree/native:/usr/sbin:/usr/bin:/sbin:/bin"')
  expect(command).toContain(`--customize-hook=chroot "$1" sed -i '/^DPkg::Path /d' /etc/apt/apt.conf.d/99mmdebstrap`)
})
