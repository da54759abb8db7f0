import {chmod, mkdtemp, readdir, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
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

  // What a guest prints is its owner's: in a directory anyone may enter,
  // only the console log's own mode keeps other users out.
  test('the console log is made 0600: another user cannot read it', async () => {
    const open = await mkdtemp(path.join(tmpdir(), 'apt-ostree-console-'))
    await chmod(open, 0o755)
    try {
      const consoleLog = path.join(open, 'vm-boot-console.log')
      await bootAndWatch({...unstartable('tcg'), consoleLog})
      expect((await stat(consoleLog)).mode & 0o777).toBe(0o600)
      if (process.getuid?.() === 0) expect((await execa('runuser', ['-u', 'nobody', '--', 'cat', consoleLog], {reject: false})).exitCode).not.toBe(0)
    } finally {
      await rm(open, {recursive: true, force: true})
    }
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
