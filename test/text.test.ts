import {expect, test} from 'vitest'
import {printable, quoted} from '../src/text.js'

test('what a terminal would act on is written as an escape; newlines, tabs and other text stay', () => {
  expect(printable('\x1b]0;title\x07\x1b[2Jok')).toBe('\\x1b]0;title\\x07\\x1b[2Jok')
  expect(printable('abc\u202edef\u200b\ufeff')).toBe('abc\\u202edef\\u200b\\ufeff')
  expect(printable('\x9b31m')).toBe('\\x9b31m')
  expect(printable('line one\n\tline two: é ü 日本')).toBe('line one\n\tline two: é ü 日本')
})

test('a quoted value is escaped, cut with its length, and never shows credentials', () => {
  expect(quoted('a "b"\n')).toBe('"a \\"b\\"\\n"')
  expect(quoted('\x1b[31m')).toBe('"\\u001b[31m"')
  expect(quoted('x'.repeat(100))).toBe(`"${'x'.repeat(60)}…" (100 characters)`)
  expect(quoted('https://user:secret@host/path and http://a@b/')).toBe('"https://***@host/path and http://***@b/"')
})
