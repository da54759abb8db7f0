import {describe, expect, it} from 'vitest'
import {isLoginPrompt} from '../../src/vm/qemu.js'

// The stall watch of `vm boot` starts at the getty's prompt, which the serial
// console prints without a newline: it must be seen in the unfinished line.
describe('isLoginPrompt', () => {
  it.each([
    ['localhost login: ', true],
    ['localhost login:', true],
    ['debian login: \r', true],
    ['login: ', true],
    ['[  OK  ] Started getty@tty1.service - Getty on tty1.', false],
    ['Starting systemd-logind.service - User Login Management...', false],
    ['pam_unix(login:session): session opened', false],
  ])('%j -> %s', (text, expected) => {
    expect(isLoginPrompt(text)).toBe(expected)
  })
})
