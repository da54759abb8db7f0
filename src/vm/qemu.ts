// eslint-disable-next-line no-restricted-imports -- the firmware the architecture model names, and /dev/kvm
import {copyFile, open} from 'node:fs/promises'
import {execa} from 'execa'
import {bootModel, hostArchitecture, type Architecture, type BootModel} from '../arch.js'
import {AptOstreeError, InterruptedError} from '../errors.js'
import {installCommand} from '../tools/table.js'
import {JOURNAL_ERRORS_KARGS} from './console.js'

/** How QEMU starts the system: the kernel given directly, or UEFI firmware reading the disk's EFI partition. */
export type BootMethod =
  | {kind: 'kernel'; kernel: string; initrd: string; /** The boot entry's options. */ append: string}
  | {kind: 'uefi'; /** A writable copy of the firmware's variable store. */ vars: string}

export type Accelerator = 'kvm' | 'tcg'

/** The machine QEMU runs: the architecture's model, how it starts, its disks, the accelerator. */
export interface MachineSpec {
  /** How the machine's architecture boots: emulator, machine model, firmware, console. */
  model: BootModel
  method: BootMethod
  disk: string
  diskFormat: 'raw' | 'qcow2'
  accelerator: Accelerator
  /** Disk images the guest sees read-only after the boot disk (vdb, ...). */
  extraDisks?: string[]
}

/** How long a KVM guest must survive for KVM to count as working. */
const PROBE_MS = 3000

/** The QEMU command (also printed by --keep, to boot the kept disk again): the emulator and its arguments. */
export function qemuCommand(options: MachineSpec): string[] {
  const {method, model} = options
  return [
    model.qemu,
    '-machine', `${model.machine},accel=${options.accelerator}`,
    '-cpu', options.accelerator === 'kvm' ? 'host' : model.emulatedCpu,
    '-m', '2048',
    // Software emulation gets one CPU: with two, QEMU 7.2's multi-threaded TCG
    // now and then crashes the guest (an int3 Oops while the kernel patches its
    // own code) or hangs a unit; one CPU boots every time, about 30% slower.
    '-smp', options.accelerator === 'kvm' ? '2' : '1',
    '-display', 'none',
    // No display adapter: the console is the serial port. With QEMU's default
    // VGA the guest loaded bochs-drm late in the boot and cleared its frame
    // buffer in software: a 26 s soft lockup of the one emulated CPU on a
    // loaded host.
    '-vga', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-serial', 'stdio',
    '-drive', `file=${options.disk},format=${options.diskFormat},if=virtio,file.locking=off`,
    ...(options.extraDisks ?? []).flatMap((disk) => ['-drive', `file=${disk},format=raw,if=virtio,readonly=on,file.locking=off`]),
    ...(method.kind === 'kernel'
      ? ['-kernel', method.kernel, '-initrd', method.initrd, '-append', `${method.append} console=${model.console} systemd.show_status=1 panic=-1 ${JOURNAL_ERRORS_KARGS.join(' ')}`]
      : ['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${model.firmwareCode}`, '-drive', `if=pflash,format=raw,unit=1,file=${method.vars}`]),
  ]
}

/** A writable copy of the firmware's variable store at DESTINATION, for one machine. */
export async function firmwareVars(model: BootModel, destination: string): Promise<void> {
  await copyFile(model.firmwareVars, destination).catch(() => {
    throw new AptOstreeError(`${model.firmwareVars}: UEFI firmware missing (${installCommand([model.firmwarePackage])})`)
  })
}

/**
 * KVM when it works, software emulation (TCG) otherwise, and why. A guest
 * of another architecture than the host's is always emulated. /dev/kvm can
 * be there and still fail: under some nested hypervisors every guest dies
 * with "KVM internal error" and qemu then hangs, or qemu aborts at its
 * first MSR write. So a short firmware run decides: it either dies at once
 * or is still running after PROBE_MS. The firmware is not the kernel: a
 * boot that KVM fails later is tried again emulated (watch.ts, retryOf).
 */
export async function chooseAccelerator(arch: Architecture, signal: AbortSignal): Promise<{accelerator: Accelerator; reason: string}> {
  const host = hostArchitecture()
  if (arch.debian !== host.debian) return {accelerator: 'tcg', reason: `an ${arch.debian} machine on an ${host.debian} host: software emulation`}
  const model = bootModel(arch)
  const device = await open('/dev/kvm', 'r+').catch((error: NodeJS.ErrnoException) => error)
  if (!('close' in device)) return {accelerator: 'tcg', reason: `no usable /dev/kvm (${device.code}): software emulation`}
  await device.close()
  const probe = execa(model.qemu, ['-machine', `${model.machine},accel=kvm`, '-cpu', 'host', '-smp', '2', '-m', '128', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-nodefaults', '-no-reboot', '-drive', `if=pflash,format=raw,readonly=on,file=${model.firmwareCode}`], {
    reject: false,
    stdin: 'ignore',
    cancelSignal: signal,
    timeout: PROBE_MS,
    killSignal: 'SIGKILL',
  })
  const result = await probe
  if (signal.aborted) throw new InterruptedError(String(signal.reason ?? 'SIGINT'))
  if (result.timedOut && !/KVM internal error/.test(String(result.stderr))) return {accelerator: 'kvm', reason: 'KVM'}
  const why = /KVM internal error[^\n]*/.exec(String(result.stderr))?.[0] ?? String(result.stderr).split('\n')[0] ?? `exit ${result.exitCode}`
  return {accelerator: 'tcg', reason: `KVM does not run guests here (${why.trim()}): software emulation`}
}
