import {runOnReadOnlyHost} from '../sandbox/bwrap.js'
import type {RunOptions} from './exec.js'

/** What to install: the part of mmdebstrap's command line a simulation shares. */
export interface PackageSelection {
  suite: string
  sourcesFile: string
  variant: string
  arch: string
  packages: string[]
  recommends: boolean
  dpkgOptions: string[]
  /** Where mmdebstrap works (must not exist yet). */
  target: string
  /** Directories mmdebstrap may write: the work dir and the cache. */
  writable: string[]
}

export interface MmdebstrapOptions extends PackageSelection {
  /** Host files copied into /etc/apt/preferences.d before anything is installed. */
  preferences?: string
  /** Host directory of .debs synced in before and out after: the download cache. */
  debCache: string
  sourceDateEpoch: number
}

function selectionArgs(selection: PackageSelection): string[] {
  return [
    'mmdebstrap',
    '--mode=root',
    `--variant=${selection.variant}`,
    `--architectures=${selection.arch}`,
    ...(selection.packages.length ? [`--include=${selection.packages.join(',')}`] : []),
    `--aptopt=APT::Install-Recommends "${selection.recommends ? 'true' : 'false'}"`,
    '--aptopt=Acquire::Retries "3"',
    ...selection.dpkgOptions.map((option) => `--dpkgopt=${option}`),
  ]
}

/**
 * mmdebstrap in root mode, itself inside bubblewrap with the host read-only.
 * INITRD=No keeps the kernel's postinst (via dracut's hook) from building an
 * initramfs that the ostreeify stage would throw away.
 */
export async function mmdebstrap(options: MmdebstrapOptions, run: RunOptions): Promise<void> {
  const args = [
    ...selectionArgs(options),
    // Keep the downloaded essential .debs until sync-out has copied them.
    '--skip=essential/unlink',
    '--setup-hook=mkdir -p "$1/var/cache/apt/archives" "$1/etc/apt/preferences.d"',
    `--setup-hook=sync-in ${options.debCache} /var/cache/apt/archives/`,
    ...(options.preferences ? [`--setup-hook=copy-in ${options.preferences} /etc/apt/preferences.d/`] : []),
    `--customize-hook=sync-out /var/cache/apt/archives ${options.debCache}`,
    options.suite,
    options.target,
    options.sourcesFile,
  ]
  await runOnReadOnlyHost(args, options.writable, {
    ...run,
    label: 'mmdebstrap',
    setenv: {INITRD: 'No', SOURCE_DATE_EPOCH: String(options.sourceDateEpoch), LANG: 'C.UTF-8'},
  })
}

export interface SimulatedPackage {
  name: string
  version: string
}

/**
 * apt's simulation of the install (mmdebstrap --simulate): the package set,
 * resolved against the repos, with nothing downloaded or installed. mmdebstrap
 * runs no hooks when simulating, so apt preferences (exclude-packages) do not
 * apply here.
 */
export async function simulate(selection: PackageSelection, run: RunOptions): Promise<SimulatedPackage[]> {
  const packages = new Map<string, string>()
  await runOnReadOnlyHost([...selectionArgs(selection), '--simulate', '--verbose', selection.suite, selection.target, selection.sourcesFile], selection.writable, {
    ...run,
    label: 'mmdebstrap --simulate',
    setenv: {LANG: 'C.UTF-8'},
    // Read line by line: the output is longer than the stderr tail a run keeps.
    onLine: (line) => {
      const inst = /^Inst (\S+) \((\S+)/.exec(line)
      if (inst) packages.set(inst[1], inst[2])
      run.onLine?.(line)
    },
  })
  return [...packages].map(([name, version]) => ({name, version})).sort((a, b) => (a.name < b.name ? -1 : 1))
}
