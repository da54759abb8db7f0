import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {bootModel, hostArchitecture} from '../../src/arch.js'
import {bootAndWatch, bootRetryingOnce, retryOf, type BootOptions, type BootReport} from '../../src/vm/watch.js'
import {outputSchemaErrors} from '../helpers/output-schema.js'

// A real QEMU that cannot start the machine (its disk and kernel are not
// there) exits 1 on its own: the failure QEMU's KVM code causes when it aborts.
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'apt-ostree-watch-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

function unstartable(accelerator: BootOptions['accelerator']): BootOptions {
  return {
    model: bootModel(hostArchitecture()),
    method: {kind: 'kernel', kernel: '/nonexistent/vmlinuz', initrd: '/nonexistent/initrd', append: 'rw'},
    disk: '/nonexistent/root.img',
    diskFormat: 'raw',
    accelerator,
    target: 'multi-user.target',
    timeoutSeconds: 600,
    consoleLog: path.join(dir, `${accelerator}-console.log`),
    signal: new AbortController().signal,
  }
}

const base: BootReport = {accelerator: 'kvm', reached: false, seconds: 1, failedUnits: [], errorLines: [], composefs: false}

describe('bootAndWatch', () => {
  test('QEMU failing on its own is reported with its last stderr line', async () => {
    const report = await bootAndWatch(unstartable('tcg'))
    expect(report.reached).toBe(false)
    expect(report.qemuFailed).toBe(true)
    expect(report.failure).toMatch(/^qemu exited \(1\) before multi-user\.target: qemu-system-\w+: .*\/nonexistent\//)
    expect(report.failure).not.toContain('\n')
  })
})

describe('retryOf', () => {
  test('a stall boots again as it was; QEMU failing under KVM boots again emulated', () => {
    expect(retryOf({...base, stalled: true})).toMatchObject({accelerator: 'kvm', logSuffix: 'stalled'})
    expect(retryOf({...base, qemuFailed: true})).toMatchObject({accelerator: 'tcg', logSuffix: 'kvm'})
  })

  test('QEMU failing under software emulation, a kernel panic or a timeout is final', () => {
    expect(retryOf({...base, accelerator: 'tcg', qemuFailed: true})).toBeUndefined()
    expect(retryOf({...base, failure: 'Kernel panic - not syncing'})).toBeUndefined()
    expect(retryOf({...base, failure: 'no "Reached target multi-user.target" within 600 s'})).toBeUndefined()
  })
})

describe('bootRetryingOnce', () => {
  test('a boot QEMU fails under KVM is tried once more under software emulation, the first console log kept', async () => {
    const said: string[] = []
    const report = await bootRetryingOnce(unstartable('kvm'), {progress: (line) => said.push(line)})
    expect(report.accelerator).toBe('tcg')
    expect(report.qemuFailed).toBe(true)
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(/^qemu exited \(1\) before multi-user\.target: .*\(console: .*kvm-console-kvm\.log\): booting the same disk again under software emulation$/)
    expect((await readdir(dir)).filter((name) => name.startsWith('kvm-')).sort()).toEqual(['kvm-console-kvm.log', 'kvm-console.log'])
    // As vm boot --json prints it (bootSystem adds the target and the console log).
    expect(outputSchemaErrors('vm-boot', {...report, target: 'multi-user.target', consoleLog: path.join(dir, 'kvm-console.log')})).toEqual([])
  })
})
