import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {formatImageReference, parseImageReference} from '../../src/oci/reference.js'

describe('parseImageReference', () => {
  it.each([
    ['oci:out/dir', {transport: 'oci', path: path.resolve('out/dir'), tag: 'latest'}],
    ['oci:out/dir:v1', {transport: 'oci', path: path.resolve('out/dir'), tag: 'v1'}],
    ['oci-archive:/tmp/a.ociarchive:1.0', {transport: 'oci-archive', path: '/tmp/a.ociarchive', tag: '1.0'}],
    ['containers-storage:localhost/minimal:latest', {transport: 'containers-storage', name: 'localhost/minimal:latest'}],
    ['docker://127.0.0.1:5000/minimal:latest', {transport: 'docker', name: '127.0.0.1:5000/minimal:latest'}],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected)
    expect(parseImageReference(formatImageReference(parseImageReference(text)))).toEqual(expected)
  })

  it.each([
    ['ftp://example.com/image', 'ftp://example.com/image: unknown image transport "ftp"; use oci:DIR[:TAG]'],
    ['out/image.tar', 'out/image.tar: unknown image transport; use'],
    ['oci:', 'oci:: the image reference has no path'],
    ['oci-archive:x.tar:bad tag', 'oci-archive:x.tar:bad tag: "bad tag" is not a valid tag'],
    ['containers-storage:', 'containers-storage:: the image reference has no name'],
  ])('rejects %s', (text, message) => {
    expect(() => parseImageReference(text)).toThrow(message)
  })
})
