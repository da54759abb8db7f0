import {describe, expect, test} from 'vitest'
import {ConditionError, evaluateCondition} from '../../src/treefile/conditions.js'

const variables = {codename: 'trixie', release: 13, server: true, basearch: 'amd64'}

describe('conditional-include conditions', () => {
  test.each([
    ["codename == 'trixie'", true],
    ['codename == "forky"', false],
    ["codename != 'forky'", true],
    ['release == 13', true],
    ['release >= 13', true],
    ['release > 13', false],
    ['release < 14', true],
    ['release <= 12.5', false],
    ['server == true', true],
    ['server != true', false],
    ["  basearch=='amd64'  ", true],
    ["codename < 'zesty'", true],
  ])('%s is %s', (condition, expected) => {
    expect(evaluateCondition(condition, variables)).toBe(expected)
  })

  test.each([
    ["codename = 'trixie'", 'cannot read condition "codename = \'trixie\'": expected NAME OP VALUE with OP one of == != < <= > >='],
    ['codename ==', 'condition "codename ==" has no value after "=="'],
    ['codename == trixie', 'cannot read value "trixie": use a number, true, false or a quoted string'],
    ["codenam == 'trixie'", 'unknown variable "codenam" in condition (known: basearch, codename, release, server)'],
    ["release == '13'", 'cannot compare number variable "release" with string "13"'],
    ['codename == 13', 'cannot compare string variable "codename" with number 13'],
    ['server > false', 'operator ">" does not apply to boolean variable "server"'],
    ['server <= true', 'operator "<=" does not apply to boolean variable "server"'],
  ])('%s is an error', (condition, message) => {
    expect(() => evaluateCondition(condition, variables)).toThrow(new ConditionError(message))
  })
})
