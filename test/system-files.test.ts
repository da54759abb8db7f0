import {describe, expect, it} from 'vitest'
import {parseColonFile, parseTmpfilesLine} from '../src/system-files.js'

describe('parseTmpfilesLine', () => {
  it('splits the fields, the argument being the rest of the line', () => {
    expect(parseTmpfilesLine('L+ /var/run - - - - ../run')).toEqual({type: 'L+', path: '/var/run', mode: '-', user: '-', group: '-', age: '-', argument: '../run'})
    expect(parseTmpfilesLine('  d /var/lib/x 0750 root daemon')).toEqual({type: 'd', path: '/var/lib/x', mode: '0750', user: 'root', group: 'daemon', age: '-', argument: ''})
  })

  it('unquotes and unescapes the path; %% is %, other specifiers leave it undefined', () => {
    expect(parseTmpfilesLine('d "/var/with space" - - - -')?.path).toBe('/var/with space')
    expect(parseTmpfilesLine('d /var/a\\x20b\\\\c - - - -')?.path).toBe('/var/a b\\c')
    expect(parseTmpfilesLine('d /var/100%% - - - -')?.path).toBe('/var/100%')
    expect(parseTmpfilesLine('d /var/%h/x - - - -')).toMatchObject({type: 'd', path: undefined})
    expect(parseTmpfilesLine('d /var/bad\\q - - - -')?.path).toBeUndefined()
  })

  it('ignores comments, blank and one-field lines', () => {
    expect([parseTmpfilesLine('# d /var/x'), parseTmpfilesLine('   '), parseTmpfilesLine('d')]).toEqual([undefined, undefined, undefined])
  })
})

describe('parseColonFile', () => {
  it('gives the fields of each line, without comments and blank lines', () => {
    expect(parseColonFile('root:x:0:0::/root:/bin/sh\n# comment\n\n  \ndaemon:x:1:\n')).toEqual([
      ['root', 'x', '0', '0', '', '/root', '/bin/sh'],
      ['daemon', 'x', '1', ''],
    ])
  })
})
