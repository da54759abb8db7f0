import {describe, expect, test} from 'vitest'
import {didYouMean} from '../../src/treefile/suggest.js'

const keys = ['packages', 'exclude-packages', 'repos', 'ref', 'documentation', 'recommends', 'units', 'variant', 'include']

describe('did you mean', () => {
  test.each([
    ['pakages', 'packages'],
    ['Packages', 'packages'],
    ['repo', 'repos'],
    ['documentaton', 'documentation'],
    ['recommend', 'recommends'],
    ['excluded-packages', 'exclude-packages'],
    ['unit', 'units'],
    ['includes', 'include'],
  ])('%s -> %s', (word, expected) => {
    expect(didYouMean(word, keys)).toBe(` (did you mean "${expected}"?)`)
  })

  test.each(['frobnicate', 'docs', 'xyz', 'kernel-args'])('%s has no close match', (word) => {
    expect(didYouMean(word, keys)).toBe('')
  })

  test('the closest candidate wins, the first on a tie', () => {
    expect(didYouMean('varient', ['variant', 'variants'])).toBe(' (did you mean "variant"?)')
    expect(didYouMean('ab', ['ac', 'ad'])).toBe(' (did you mean "ac"?)')
  })

  test('no candidates, no hint', () => {
    expect(didYouMean('packages', [])).toBe('')
  })
})
