import {describe, expect, it} from 'vitest'
import {consoleText, isLoginPrompt} from '../../src/vm/qemu.js'

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
