import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, test} from 'vitest'
import {bootModel, hostArchitecture} from '../../src/arch.js'
import {describeBoot} from '../../src/commands/vm/boot.js'
import {describeUpgrade} from '../../src/commands/vm/upgrade.js'
import type {BootResult} from '../../src/vm/boot.js'
import {consoleText} from '../../src/vm/console.js'
import type {UpgradeReport} from '../../src/vm/upgrade.js'
import {runSourceCli} from '../helpers/cli.js'

// A guest chooses every byte of its serial console, and of what its tools
// report: an OSC 52 clipboard write, an OSC 0 window title, a C1 control
// (U+009B, a CSI to some terminals), a carriage return over a line. None
// may reach the terminal as it is; --json keeps the raw result.
const OSC_52 = '\u001b]52;c;ZWNobyBwd25lZA==\u0007'
const OSC_0 = '\u001b]0;all good\u0007'
// eslint-disable-next-line no-control-regex
const ACTS = /[\u001b\u0007\r\u009b]/

const scratch = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-terminal-'))
// The sandbox enters the cache dir as an unprivileged id.
chmodSync(scratch, 0o755)
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

describe('consoleText', () => {
  test('takes an operating system command out whole, payload and all', () => {
    expect(consoleText(`${OSC_52}[  OK  ] Started foo.service.\r`)).toBe('[  OK  ] Started foo.service.')
    expect(consoleText(`a${OSC_0}b\u001b]2;title\u001b\\c`)).toBe('abc')
  })
})

describe("vm boot's report", () => {
  const result: BootResult = {
    accelerator: 'tcg',
    reached: false,
    seconds: 600,
    failure: `no "Reached target multi-user.target" within 600 s; still running: evil${OSC_52}.service`,
    failedUnits: [`evil${OSC_0}.service`],
    errorLines: ['evil: \u009b31mred\rall checks passed'],
    composefs: false,
    kernelCommandLine: `root=LABEL=root ${OSC_52}`,
    target: 'multi-user.target',
    consoleLog: '/cache/logs/vm-boot-console.log',
  }

  test('shows what the guest said escaped', () => {
    const text = describeBoot(result)
    expect(text).not.toMatch(ACTS)
    expect(text).toContain('did not reach multi-user.target: no "Reached target multi-user.target" within 600 s; still running: evil\\x1b]52;c;ZWNobyBwd25lZA==\\x07.service')
    expect(text).toContain('failed units: evil\\x1b]0;all good\\x07.service')
    expect(text).toContain('\n  evil: \\x9b31mred\\x0dall checks passed')
    expect(text).toContain('kernel command line: root=LABEL=root \\x1b]52;c;ZWNobyBwd25lZA==\\x07')
  })
})

describe("vm upgrade's report", () => {
  test('shows what the guest and the commits said escaped', () => {
    const report: UpgradeReport = {
      ok: false,
      from: 'a'.repeat(64),
      to: 'b'.repeat(64),
      fromVersion: `1${OSC_0}`,
      origin: `debian:debian/13/amd64/minimal${OSC_52}`,
      steps: [{step: 'ostree admin upgrade', ok: false, seconds: 3, detail: `exit 1: error: ${OSC_52}\rok`}],
      errors: [`ostree: ${OSC_0}`],
      consoleLogs: ['/cache/logs/vm-upgrade-console-1.log'],
    }
    const text = describeUpgrade(report)
    expect(text).not.toMatch(ACTS)
    expect(text).toContain('aaaaaaaaaaaa (1\\x1b]0;all good\\x07) → bbbbbbbbbbbb, origin debian:debian/13/amd64/minimal\\x1b]52;c;ZWNobyBwd25lZA==\\x07')
    expect(text).toContain('FAILED ostree admin upgrade: 3 s (exit 1: error: \\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x0dok)')
    expect(text).toContain('\n  ostree: \\x1b]0;all good\\x07')
  })
})

// The whole path of `vm boot DISK --console`: a stand-in QEMU on PATH plays
// a guest whose console lines carry the escapes (it fails the KVM probe, so
// the boot is "emulated", and exits once it has printed the target's line).
test.runIf(process.getuid?.() === 0)('vm boot --console streams and reports a hostile console escaped; --json keeps it raw', async () => {
  const bin = path.join(scratch, 'bin')
  const disk = path.join(scratch, 'disk.raw')
  writeFileSync(disk, '')
  const lines = [
    '\\033]52;c;ZWNobyBwd25lZA==\\007[  OK  ] Started foo.service.',
    '[  OK  ] Started \\302\\233evil.service.\\rall checks passed',
    '[FAILED] Failed to start \\033]0;all good\\007evil.service.',
    'evil[42]: \\302\\23331m journal \\007 line',
    '[  OK  ] Reached target multi-user.target - Multi-User System.',
  ]
  const qemu = ['#!/bin/sh', 'case " $* " in *" -serial none "*) echo "no KVM here" >&2; exit 1;; esac', ...lines.map((line) => `printf '${line}\\r\\n'`), 'exit 0', '']
  mkdirSync(bin)
  writeFileSync(path.join(bin, bootModel(hostArchitecture()).qemu), qemu.join('\n'), {mode: 0o755})
  const env = {PATH: `${bin}:${process.env.PATH}`}
  const cache = path.join(scratch, 'cache')
  const human = await runSourceCli(['vm', 'boot', disk, '--console', '--cachedir', cache, '--timeout', '60'], {env})
  expect(human.exitCode).toBe(1)
  for (const output of [human.stdout, human.stderr]) expect(output).not.toMatch(ACTS)
  expect(human.stderr).toContain('[  OK  ] Started \\x9bevil.service.all checks passed')
  expect(human.stderr).toContain('evil[42]: \\x9b31m journal \\x07 line')
  expect(human.stdout).toContain('failed units: Failed to start evil.service.')
  expect(human.stdout).toContain('\n  evil: \\x9b31m journal \\x07 line')
  const json = await runSourceCli(['vm', 'boot', disk, '--cachedir', cache, '--timeout', '60', '--json'], {env})
  expect((JSON.parse(json.stdout) as BootResult).errorLines).toEqual(['evil: \u009b31m journal \u0007 line'])
})
