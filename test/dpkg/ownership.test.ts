import {describe, expect, it} from 'vitest'
import {commitPathMapper, fileOwners} from '../../src/dpkg/ownership.js'

const mapper = commitPathMapper(new Map([['bin', 'usr/bin'], ['lib', 'usr/lib'], ['home', 'var/home']]))

describe('commitPathMapper', () => {
  it.each([
    ['/etc/passwd', '/usr/etc/passwd'],
    ['/bin/bash', '/usr/bin/bash'],
    ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'],
    ['/boot/vmlinuz-6.12.0-1-amd64', '/usr/lib/modules/6.12.0-1-amd64/vmlinuz'],
    ['/home/user', '/home/user'],
    ['/usr/bin/ls', '/usr/bin/ls'],
  ])('%s → %s', (dpkgPath, commitPath) => {
    expect(mapper(dpkgPath)).toBe(commitPath)
  })
})

describe('fileOwners', () => {
  it('gives shared paths to the first package by name and honours diversions', () => {
    const lists = new Map([
      ['zlib', ['/usr', '/usr/bin', '/usr/bin/z']],
      ['coreutils', ['/usr', '/bin/ls']],
      ['wrapper', ['/usr/bin/ls']],
      ['libc6:amd64', ['/etc/ld.so.conf']],
    ])
    const owners = fileOwners({lists, diversions: '/usr/bin/ls\n/usr/bin/ls.real\nwrapper\n'}, mapper)
    expect(owners.get('/usr')).toBe('coreutils')
    expect(owners.get('/usr/bin/z')).toBe('zlib')
    expect(owners.get('/usr/etc/ld.so.conf')).toBe('libc6:amd64')
    expect(owners.get('/usr/bin/ls')).toBe('wrapper')
    expect(owners.get('/usr/bin/ls.real')).toBe('coreutils')
  })
})
