import {describe, expect, test} from 'vitest'
import {architectureNamed, bootModel} from '../../src/arch.js'
import {chooseAccelerator, qemuCommand} from '../../src/vm/qemu.js'

// The QEMU command comes from the architecture model: emulator, machine,
// firmware and console are the machine's, for amd64 and arm64 alike.
const kernel = {kind: 'kernel' as const, kernel: '/k/vmlinuz', initrd: '/k/initrd', append: 'root=LABEL=ostree-root rw'}
const uefi = {kind: 'uefi' as const, vars: '/w/vars.fd'}

describe('qemuCommand', () => {
  test('amd64: qemu-system-x86_64, q35, OVMF, the console on ttyS0', () => {
    const model = bootModel(architectureNamed('amd64'))
    const direct = qemuCommand({model, method: kernel, disk: '/w/root.img', diskFormat: 'raw', accelerator: 'tcg'})
    expect(direct.slice(0, 5)).toEqual(['qemu-system-x86_64', '-machine', 'q35,accel=tcg', '-cpu', 'max'])
    expect(direct.at(-1)).toMatch(/^root=LABEL=ostree-root rw console=ttyS0 /)
    const firmware = qemuCommand({model, method: uefi, disk: '/w/disk.qcow2', diskFormat: 'qcow2', accelerator: 'kvm'})
    expect(firmware).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd')
    expect(firmware).toContain('if=pflash,format=raw,unit=1,file=/w/vars.fd')
    expect(firmware.slice(3, 5)).toEqual(['-cpu', 'host'])
  })

  test('arm64: qemu-system-aarch64, virt, AAVMF, the console on ttyAMA0', () => {
    const model = bootModel(architectureNamed('arm64'))
    const direct = qemuCommand({model, method: kernel, disk: '/w/root.img', diskFormat: 'raw', accelerator: 'tcg'})
    expect(direct.slice(0, 5)).toEqual(['qemu-system-aarch64', '-machine', 'virt,accel=tcg', '-cpu', 'max,pauth-impdef=on'])
    expect(direct.at(-1)).toMatch(/ console=ttyAMA0 /)
    expect(qemuCommand({model, method: uefi, disk: '/w/disk.raw', diskFormat: 'raw', accelerator: 'tcg'})).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd')
  })

  test('an architecture apt-ostree cannot boot is refused by name', () => {
    expect(() => bootModel(architectureNamed('s390x'))).toThrow('booting s390x machines is not supported (amd64 and arm64 are)')
  })
})

describe('chooseAccelerator', () => {
  test("a machine of another architecture than the host's is emulated, without a KVM probe", async () => {
    const foreign = process.arch === 'arm64' ? 'amd64' : 'arm64'
    const {accelerator, reason} = await chooseAccelerator(architectureNamed(foreign), new AbortController().signal)
    expect(accelerator).toBe('tcg')
    expect(reason).toMatch(new RegExp(`^an ${foreign} machine on an \\w+ host: software emulation$`))
  })
})
