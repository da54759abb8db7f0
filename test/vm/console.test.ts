import {describe, expect, it, test} from 'vitest'
import {consoleText, isLoginPrompt, journalLine} from '../../src/vm/console.js'

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

// systemd redraws its "Job ... running" line with ESC M (reverse line feed)
// and ESC [K before the next status line; its ellipsis may cut a colour code.
describe('consoleText', () => {
  it.each([
    ['\u001bM\r\r\u001b[K[\u001b[0;32m  OK  \u001b[0m] Finished \u001b[0;1;39mfoo.service\u001b[0m - Foo.\r', '[  OK  ] Finished foo.service - Foo.'],
    ['         Starting \u001b[0;1;39mdbus.service\u001b[0m - D-Bus System Message Bus...\r\r', 'Starting dbus.service - D-Bus System Message Bus...'],
    ['         Starting \u001b[0;1;39msystemd-udev-trig…[0m - Coldplug All udev Devices...\r\r', 'Starting systemd-udev-trig… - Coldplug All udev Devices...'],
    ['[   42.760566] powernow_k8: Power state transitions not supported', '[   42.760566] powernow_k8: Power state transitions not supported'],
  ])('%j -> %j', (raw, text) => {
    expect(consoleText(raw)).toBe(text)
  })
})

describe('journal lines on the console', () => {
  test('a program\'s message is one; systemd\'s and journald\'s own kernel-log lines and status lines are not', () => {
    expect(journalLine('[   12.345678] systemd-tmpfiles[300]: "/home" already exists and is not a directory.')).toBe('systemd-tmpfiles: "/home" already exists and is not a directory.')
    expect(journalLine('sshd[99]: error: no hostkeys available')).toBe('sshd: error: no hostkeys available')
    expect(journalLine('[   52.302277] systemd[1]: Initializing machine ID from random generator.')).toBeUndefined()
    expect(journalLine('[   50.993130] systemd-journald[221]: Received SIGTERM from PID 1 (systemd).')).toBeUndefined()
    expect(journalLine('[  OK  ] Reached target multi-user.target - Multi-User System.')).toBeUndefined()
  })
})

test('the kernel\'s own bracketed lines are not journal lines', () => {
  expect(journalLine('[    0.012345] IOAPIC[0]: apic_id 0, version 32, address 0xfec00000, GSI 0-23')).toBeUndefined()
})
