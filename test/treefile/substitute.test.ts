import {describe, expect, test} from 'vitest'
import {SubstitutionError, substitute} from '../../src/treefile/substitute.js'

const variables = {basearch: 'amd64', releasever: '13', build: 42, server: true}

describe('${variable} substitution', () => {
  test.each([
    ['debian/${releasever}/${basearch}/minimal', 'debian/13/amd64/minimal'],
    ['${build}-${server}', '42-true'],
    ['no variables', 'no variables'],
    ['costs $$5', 'costs $5'],
    ['$basearch stays', '$basearch stays'],
    ['$$${basearch}', '$amd64'],
    ['${releasever}${releasever}', '1313'],
  ])('%s -> %s', (text, expected) => {
    expect(substitute(text, variables)).toBe(expected)
  })

  test.each([
    ['debian/${release}', 'unknown variable "${release}" (known: basearch, build, releasever, server)'],
    ['${}', '"${}" is not a variable reference'],
    ['${1st}', '"${1st}" is not a variable reference'],
    ['${base arch}', '"${base arch}" is not a variable reference'],
  ])('%s is an error', (text, message) => {
    expect(() => substitute(text, variables)).toThrow(new SubstitutionError(message))
  })
})
