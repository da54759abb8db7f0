import path from 'node:path'

// mmdebstrap's command lines. They run in the sandbox (src/sandbox), which
// makes mmdebstrap's root the build namespace's: its unshare mode then only
// adds the mount and pid namespaces of its chroot.

/** What to install: the part of mmdebstrap's command line a simulation shares. */
export interface PackageSelection {
  suite: string
  /** The deb822 sources file, a path inside the sandbox. */
  sourcesFile: string
  variant: string
  arch: string
  packages: string[]
  recommends: boolean
  dpkgOptions: string[]
  /** Where mmdebstrap works (must not exist yet), inside the sandbox. */
  target: string
}

export interface MmdebstrapOptions extends PackageSelection {
  /**
   * apt preferences files copied into /etc/apt/preferences.d before anything
   * is installed; those not kept are removed once the packages are in.
   */
  preferences?: Array<{file: string; keep: boolean}>
  /** The sources file the tree keeps (the treefile's own repos), uploaded over the one the bootstrap used. */
  keptSources: string
  /** The name mmdebstrap gives the sources file in the tree. */
  keptSourcesName: string
  /**
   * Programs copied into the tree before anything is installed, from FROM
   * (inside the sandbox) to TO (in the tree, which the PATH of its programs
   * names first); under /run, which mmdebstrap empties at the end.
   */
  nativePrograms?: {from: string; to: string}
}

function selectionArgs(selection: PackageSelection): string[] {
  return [
    '--mode=unshare',
    `--variant=${selection.variant}`,
    `--architectures=${selection.arch}`,
    ...(selection.packages.length ? [`--include=${selection.packages.join(',')}`] : []),
    `--aptopt=APT::Install-Recommends "${selection.recommends ? 'true' : 'false'}"`,
    '--aptopt=Acquire::Retries "3"',
    ...selection.dpkgOptions.map((option) => `--dpkgopt=${option}`),
  ]
}

/** The PATH apt gives dpkg (DPkg::Path) when dpkg is to find native programs first. */
const DPKG_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'

/**
 * The native programs synced in, and named first on the PATH apt sets for
 * dpkg (mmdebstrap installs the essential packages with dpkg directly, on
 * its own PATH, which the caller sets). The option mmdebstrap writes into the
 * tree's apt config is taken out again, from inside the tree, once the
 * packages are in.
 */
function nativeProgramArgs(native: MmdebstrapOptions['nativePrograms']): string[] {
  if (!native) return []
  return [
    `--aptopt=DPkg::Path "${native.to}:${DPKG_PATH}"`,
    `--setup-hook=mkdir -p "$1${native.to}"`,
    `--setup-hook=sync-in ${native.from} ${native.to}`,
    `--customize-hook=chroot "$1" sed -i '/^DPkg::Path /d' /etc/apt/apt.conf.d/99mmdebstrap`,
  ]
}

/** The bootstrap, from a local archive (copy:// sources), writing nothing outside the target. */
export function mmdebstrapCommand(options: MmdebstrapOptions): string[] {
  return [
    'mmdebstrap',
    ...selectionArgs(options),
    '--setup-hook=mkdir -p "$1/etc/apt/preferences.d"',
    ...nativeProgramArgs(options.nativePrograms),
    ...(options.preferences ?? []).map(({file}) => `--setup-hook=copy-in ${file} /etc/apt/preferences.d/`),
    `--customize-hook=upload ${options.keptSources} /etc/apt/sources.list.d/${options.keptSourcesName}`,
    ...(options.preferences ?? []).filter(({keep}) => !keep).map(({file}) => `--customize-hook=rm "$1/etc/apt/preferences.d/${path.posix.basename(file)}"`),
    options.suite,
    options.target,
    options.sourcesFile,
  ]
}

/**
 * apt's simulation of the install (mmdebstrap --simulate): the package set
 * resolved, nothing downloaded or installed. mmdebstrap runs no hooks when
 * simulating, so preferences (exclude-packages) come as an apt option.
 */
export function simulateCommand(selection: PackageSelection, preferencesDirectory?: string): string[] {
  return [
    'mmdebstrap',
    ...selectionArgs(selection),
    ...(preferencesDirectory ? [`--aptopt=Dir::Etc::PreferencesParts "${preferencesDirectory}"`] : []),
    '--simulate',
    '--verbose',
    selection.suite,
    selection.target,
    selection.sourcesFile,
  ]
}

export interface SimulatedPackage {
  name: string
  version: string
  architecture: string
}

/** The packages of apt's "Inst NAME (VERSION ORIGIN [ARCH])" lines, each once, by name. */
export function parseSimulation(lines: string[]): SimulatedPackage[] {
  const packages = new Map<string, SimulatedPackage>()
  for (const line of lines) {
    const inst = /^Inst (\S+) \((\S+) .*\[([^\]]+)\]\)/.exec(line)
    if (inst) packages.set(inst[1], {name: inst[1], version: inst[2], architecture: inst[3]})
  }
  return [...packages.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
}
