import {UsageError} from './errors.js'

/**
 * How a machine of one architecture boots under QEMU from a disk apt-ostree
 * made: the emulator, its machine model, the UEFI firmware, the names the
 * firmware and GRUB know the architecture by, and the serial console.
 */
export interface BootModel {
  /** qemu-system-* binary and the Debian package holding it. */
  qemu: string
  qemuPackage: string
  /** -machine (the accelerator is added). */
  machine: string
  /** -cpu under software emulation (KVM uses the host's). */
  emulatedCpu: string
  /** UEFI firmware: code (read-only) and the variable store template, and their package. */
  firmwareCode: string
  firmwareVars: string
  firmwarePackage: string
  /** The removable-media loader path every UEFI firmware looks for on the EFI partition. */
  efiLoader: string
  /** GRUB's platform directory (/usr/lib/grub/TARGET) and the package that fills it. */
  grubTarget: string
  grubPackage: string
  /** The serial console the kernel is told to use. */
  console: string
}

/** One architecture, as each tool along the pipeline names it. */
export interface Architecture {
  /** Debian's name (dpkg --print-architecture), as treefiles and mmdebstrap use it. */
  debian: string
  /** The OCI platform of an image of it. */
  oci: {architecture: string; variant?: string}
  /** Node's process.arch on a host of it. */
  node: string
  /** The kernel's name (uname -m), which rpm calls basearch. */
  uname: string
  /** The metapackage of Debian's kernel for it. */
  kernelPackage?: string
  /** qemu-user's binary for running it on another architecture (binfmt_misc name). */
  qemuUser?: string
  /** The CPU qemu-user emulates for it (QEMU_CPU), when its default is not the fastest that runs Debian's binaries. */
  qemuUserCpu?: string
  boot?: BootModel
}

export const ARCHITECTURES: readonly Architecture[] = [
  {
    debian: 'amd64',
    oci: {architecture: 'amd64'},
    node: 'x64',
    uname: 'x86_64',
    kernelPackage: 'linux-image-amd64',
    qemuUser: 'qemu-x86_64',
    boot: {
      qemu: 'qemu-system-x86_64',
      qemuPackage: 'qemu-system-x86',
      machine: 'q35',
      emulatedCpu: 'max',
      firmwareCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      firmwareVars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      firmwarePackage: 'ovmf',
      efiLoader: 'EFI/BOOT/BOOTX64.EFI',
      grubTarget: 'x86_64-efi',
      grubPackage: 'grub-efi-amd64-bin',
      console: 'ttyS0',
    },
  },
  {
    debian: 'arm64',
    oci: {architecture: 'arm64', variant: 'v8'},
    node: 'arm64',
    uname: 'aarch64',
    kernelPackage: 'linux-image-arm64',
    qemuUser: 'qemu-aarch64',
    // Debian builds for the ARMv8.0 baseline, which a Cortex-A72 (a Raspberry Pi 4) is. qemu-user's
    // default CPU has every later feature, each with its emulation cost: pointer authentication of the
    // return address in nearly every function (branch protection), SVE code paths glibc then picks.
    qemuUserCpu: 'cortex-a72',
    boot: {
      qemu: 'qemu-system-aarch64',
      qemuPackage: 'qemu-system-arm',
      machine: 'virt',
      // QEMU's own cheap pointer authentication, not the architected QARMA algorithm. A Cortex-A72, as
      // for qemu-user, booted the arm64 commit no faster (130 s against 123.9 s, one bench run each).
      emulatedCpu: 'max,pauth-impdef=on',
      firmwareCode: '/usr/share/AAVMF/AAVMF_CODE.fd',
      firmwareVars: '/usr/share/AAVMF/AAVMF_VARS.fd',
      firmwarePackage: 'qemu-efi-aarch64',
      efiLoader: 'EFI/BOOT/BOOTAA64.EFI',
      grubTarget: 'arm64-efi',
      grubPackage: 'grub-efi-arm64-bin',
      console: 'ttyAMA0',
    },
  },
  {debian: 'armhf', oci: {architecture: 'arm', variant: 'v7'}, node: 'arm', uname: 'armv7l', kernelPackage: 'linux-image-armmp', qemuUser: 'qemu-arm'},
  {debian: 'armel', oci: {architecture: 'arm', variant: 'v5'}, node: 'arm', uname: 'armv5tel', qemuUser: 'qemu-arm'},
  {debian: 'i386', oci: {architecture: '386'}, node: 'ia32', uname: 'i686', kernelPackage: 'linux-image-686', qemuUser: 'qemu-i386'},
  {debian: 'loong64', oci: {architecture: 'loong64'}, node: 'loong64', uname: 'loongarch64', kernelPackage: 'linux-image-loong64', qemuUser: 'qemu-loongarch64'},
  {debian: 'mips64el', oci: {architecture: 'mips64le'}, node: 'mips64el', uname: 'mips64', kernelPackage: 'linux-image-5kc-malta', qemuUser: 'qemu-mips64el'},
  {debian: 'ppc64el', oci: {architecture: 'ppc64le'}, node: 'ppc64', uname: 'ppc64le', kernelPackage: 'linux-image-powerpc64le', qemuUser: 'qemu-ppc64le'},
  {debian: 'riscv64', oci: {architecture: 'riscv64'}, node: 'riscv64', uname: 'riscv64', kernelPackage: 'linux-image-riscv64', qemuUser: 'qemu-riscv64'},
  {debian: 's390x', oci: {architecture: 's390x'}, node: 's390x', uname: 's390x', kernelPackage: 'linux-image-s390x', qemuUser: 'qemu-s390x'},
]

/** Debian's architecture names, as the treefile schema lists them. */
export const DEBIAN_ARCHITECTURES: readonly string[] = ARCHITECTURES.map((arch) => arch.debian)

/** Names other tools (rpm, uname, Go) give Debian's architectures, for "did you mean". */
export const ARCHITECTURE_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  aarch64: 'arm64',
  armv7hl: 'armhf',
  armhfp: 'armhf',
  i686: 'i386',
  ppc64le: 'ppc64el',
  loongarch64: 'loong64',
}

/** The architecture Debian calls `name`; a UsageError for any other name. */
export function architectureNamed(name: string): Architecture {
  const found = ARCHITECTURES.find((arch) => arch.debian === name)
  if (found) return found
  const alias = ARCHITECTURE_ALIASES[name.toLowerCase()]
  throw new UsageError(`unknown architecture "${name}"${alias ? ` (did you mean "${alias}"? Debian calls it so)` : ''}; known: ${DEBIAN_ARCHITECTURES.join(', ')}`)
}

/** The architecture of the machine this runs on. */
export function hostArchitecture(): Architecture {
  const found = ARCHITECTURES.find((arch) => arch.node === process.arch)
  if (!found) throw new UsageError(`this host's architecture (${process.arch}) is not one Debian builds for`)
  return found
}

/** Whether a tree of the architecture Debian calls NAME runs on this host only through qemu-user. */
export function isForeign(name: string): boolean {
  return name !== hostArchitecture().debian
}

/** The environment a tree of the architecture NAME runs its programs in: qemu-user's CPU, for a foreign one that names one. */
export function emulationEnvironment(name: string): Record<string, string> {
  const {qemuUserCpu} = architectureNamed(name)
  return isForeign(name) && qemuUserCpu ? {QEMU_CPU: qemuUserCpu} : {}
}

/** The architecture of an OCI platform; undefined for one Debian does not build. */
export function architectureOfPlatform(platform: {architecture?: string; variant?: string}): Architecture | undefined {
  const candidates = ARCHITECTURES.filter((arch) => arch.oci.architecture === platform.architecture)
  return candidates.find((arch) => arch.oci.variant === platform.variant) ?? candidates[0]
}

/** The boot model of an architecture apt-ostree can boot; a UsageError for the others. */
export function bootModel(arch: Architecture): BootModel {
  if (!arch.boot) throw new UsageError(`booting ${arch.debian} machines is not supported (amd64 and arm64 are)`)
  return arch.boot
}
