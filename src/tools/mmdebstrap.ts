import {runOnReadOnlyHost} from '../sandbox/bwrap.js'
import type {RunOptions} from './exec.js'

export interface MmdebstrapOptions {
  suite: string
  target: string
  sourcesFile: string
  variant: string
  arch: string
  packages: string[]
  recommends: boolean
  dpkgOptions: string[]
  /** Host files copied into /etc/apt/preferences.d before anything is installed. */
  preferences?: string
  /** Host directory of .debs synced in before and out after: the download cache. */
  debCache: string
  sourceDateEpoch: number
  /** Directories mmdebstrap may write: the work dir and the cache. */
  writable: string[]
}

/**
 * mmdebstrap in root mode, itself inside bubblewrap with the host read-only.
 * INITRD=No keeps the kernel's postinst (via dracut's hook) from building an
 * initramfs that the ostreeify stage would throw away.
 */
export async function mmdebstrap(options: MmdebstrapOptions, run: RunOptions): Promise<void> {
  const args = [
    'mmdebstrap',
    '--mode=root',
    `--variant=${options.variant}`,
    `--architectures=${options.arch}`,
    ...(options.packages.length ? [`--include=${options.packages.join(',')}`] : []),
    `--aptopt=APT::Install-Recommends "${options.recommends ? 'true' : 'false'}"`,
    '--aptopt=Acquire::Retries "3"',
    ...options.dpkgOptions.map((option) => `--dpkgopt=${option}`),
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
