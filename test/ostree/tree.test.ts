import {describe, expect, it} from 'vitest'
import {parseGvariantXattrs, parseOstreeLs} from '../../src/ostree/tree.js'

describe('parseOstreeLs', () => {
  it('reads types, modes, owners, checksums, symlink targets and xattrs', () => {
    const dirtree = 'a'.repeat(64)
    const file = 'b'.repeat(64)
    const text = [
      `d00755 0 0      0 ${dirtree} ${'c'.repeat(64)} { @a(ayay) [] } /`,
      `l00777 0 0      0 ${file} { @a(ayay) [] } /bin -> usr/bin`,
      `-04755 0 1     20 ${file} { [(b'security.capability', [byte 0x01, 0x00, 0xff])] } /usr/bin/with space`,
    ].join('\n')
    expect(parseOstreeLs(text)).toEqual([
      {path: '/', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, checksum: undefined, target: undefined, xattrs: []},
      {path: '/bin', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, checksum: file, target: 'usr/bin', xattrs: []},
      {path: '/usr/bin/with space', type: 'file', mode: 0o4755, uid: 0, gid: 1, size: 20, checksum: file, target: undefined, xattrs: [['security.capability', Buffer.from([1, 0, 0xff])]]},
    ])
  })

  it('fails clearly on output it does not understand', () => {
    expect(() => parseOstreeLs('garbage')).toThrow('cannot parse ostree ls output: garbage')
  })
})

describe('parseGvariantXattrs', () => {
  it('reads byte arrays and NUL-terminated bytestrings', () => {
    expect(parseGvariantXattrs("[(b'user.a', b'text'), (b'user.b', @ay [])]")).toEqual([
      ['user.a', Buffer.from('text\0')],
      ['user.b', Buffer.alloc(0)],
    ])
    expect(parseGvariantXattrs("[(b'user.esc', b'a\\'b\\\\c\\001')]")).toEqual([['user.esc', Buffer.from("a'b\\c\x01\0")]])
  })
})
