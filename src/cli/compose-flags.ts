import {readFile, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {Flags, type Interfaces} from '@oclif/core'
import {loadLockfiles} from '../archive/lockfile.js'
import type {PackageLock} from '../bootstrap/index.js'
import {UsageError} from '../errors.js'
import type {PublishOptions} from '../compose/publish.js'
import type {ComposeTreeOptions} from '../compose/tree.js'
import type {ResolvedTreefile} from '../treefile/index.js'

/** The cache dir: /var/cache/apt-ostree for root, the XDG cache otherwise. */
export function defaultCacheDir(): string {
  if (process.getuid?.() === 0) return '/var/cache/apt-ostree'
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'apt-ostree')
}

/** Flags of `compose tree`, named as rpm-ostree names them. */
export const composeFlags = {
  repo: Flags.string({description: 'OSTree repo to commit to (created in archive mode when absent). Default: a bare-user repo in the cache dir.'}),
  cachedir: Flags.string({description: 'Cache for .debs, bootstrapped trees and work dirs.', default: defaultCacheDir(), defaultHelp: async () => defaultCacheDir()}),
  'force-nocache': Flags.boolean({description: 'Build even when the inputs did not change, and do not reuse a cached bootstrapped tree.'}),
  'write-commitid-to': Flags.string({description: 'Write the commit checksum to this file.'}),
  'write-composejson-to': Flags.string({description: 'Write the compose result (ref, commit, parent, version, packages, diff) as JSON to this file.'}),
  lockfile: Flags.string({description: 'Hold the packages at the versions this lockfile (as --write-lockfile-to writes) names (repeatable; for a package in several, the later file wins). A locked version the repos no longer have fails the compose, naming it.', multiple: true}),
  'lockfile-strict': Flags.boolean({description: 'With --lockfile: fail when the resolved package set differs from the lockfile in any way (a package added, missing or at another version), naming each difference.'}),
  'archive-dir': Flags.string({description: 'Read every repo of the treefile from this captured archive (as compose fetch writes it), not the network. The commit is the one the online compose of the same archive state gives.'}),
  'write-report-to': Flags.string({description: 'Write the build report (schemas/report.schema.json) to this file: seconds per stage, packages and their installed size, cache hits (.debs, indices, the bootstrapped tree, the staging repo), the image\'s layers and what lint found. Two builds of the same inputs write the same report but for its timings.'}),
  'write-lockfile-to': Flags.string({description: 'Write a lockfile (schemas/lockfile.schema.json) to this file: every installed package with its version, architecture and .deb sha256, and each repo suite\'s InRelease sha256 and Date. The same compose writes the same bytes.'}),
  'add-metadata-string': Flags.string({description: 'Commit metadata KEY=VALUE (repeatable); wins over the treefile\'s.', multiple: true}),
  'add-metadata-from-json': Flags.string({description: 'Commit metadata from a JSON object file.'}),
  'source-date-epoch': Flags.integer({description: 'Timestamp of the commit and files (default: $SOURCE_DATE_EPOCH, else the newest Date of the repos\' InRelease).', min: 0}),
  arch: Flags.string({description: 'Debian architecture of the tree (default: the host\'s): arch-include, packages-$arch and ${basearch} follow it; another architecture\'s programs run through qemu-user (see doctor).'}),
}

/** --arch of the commands that write an image (compose image, compose tree --container): repeatable there. */
export const imageArchFlag = Flags.string({description: 'Debian architecture of the tree (default: the host\'s); repeatable: one compose each (its own ref, through ${basearch}) and one image index listing every platform. Another architecture\'s programs run through qemu-user (see doctor).', multiple: true})

/** Signing and publishing, for `compose tree` (the flags ostree and rpm-ostree use). */
export const publishFlags = {
  'gpg-sign': Flags.string({description: 'Sign the commit and the repo\'s summary with this GPG key id (wins over the treefile\'s gpg-key). Needs --repo.'}),
  'gpg-homedir': Flags.string({description: 'GPG home directory holding the secret key (default: gpg\'s).'}),
  'sign-type': Flags.string({description: 'Sign with ostree\'s own signatures instead of GPG (where this host\'s ostree has them).', options: ['ed25519']}),
  'sign-key': Flags.string({description: 'The secret key file for --sign-type.', dependsOn: ['sign-type']}),
  'static-delta': Flags.boolean({description: 'Write a static delta from the ref\'s parent into an archive --repo (--no-static-delta: do not).', default: true, allowNo: true}),
}

/** PublishOptions from the publish flags and the treefile's gpg-key. */
export function publishOptions(flags: Interfaces.InferredFlags<typeof publishFlags>, resolved: ResolvedTreefile): PublishOptions {
  const staticDelta = flags['static-delta']
  if (flags['sign-type']) {
    if (flags['gpg-sign']) throw new UsageError('--sign-type and --gpg-sign: choose one way to sign')
    if (!flags['sign-key']) throw new UsageError('--sign-type ed25519 needs --sign-key FILE')
    return {signing: {kind: 'ed25519', keyFile: flags['sign-key']}, staticDelta}
  }
  const keyId = flags['gpg-sign'] ?? resolved.treefile['gpg-key']
  if (keyId === undefined) {
    if (flags['gpg-homedir']) throw new UsageError('--gpg-homedir is for --gpg-sign (or the treefile\'s gpg-key)')
    return {staticDelta}
  }
  return {signing: {kind: 'gpg', keyId, homedir: flags['gpg-homedir']}, staticDelta}
}

export async function parseMetadataFlags(flags: Pick<ComposeFlagValues, 'add-metadata-string' | 'add-metadata-from-json'>): Promise<Record<string, string>> {
  const metadata: Record<string, string> = {}
  if (flags['add-metadata-from-json']) {
    const file = flags['add-metadata-from-json']
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'))
    } catch (error) {
      throw new UsageError(`--add-metadata-from-json ${file}: ${(error as Error).message}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--add-metadata-from-json ${file}: must hold a JSON object`)
    for (const [key, value] of Object.entries(parsed)) metadata[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  for (const entry of flags['add-metadata-string'] ?? []) {
    const separator = entry.indexOf('=')
    if (separator <= 0) throw new UsageError(`--add-metadata-string ${entry}: expected KEY=VALUE`)
    metadata[entry.slice(0, separator)] = entry.slice(separator + 1)
  }
  return metadata
}

export function sourceDateEpochFrom(flag: number | undefined): number | undefined {
  if (flag !== undefined) return flag
  const env = process.env.SOURCE_DATE_EPOCH
  if (env === undefined || env === '') return undefined
  if (!/^\d+$/.test(env)) throw new UsageError(`SOURCE_DATE_EPOCH=${env} is not a whole number of seconds`)
  return Number(env)
}

/** `compose image` has every compose flag but --repo; --arch is the treefile loader's (and repeatable there). */
export type ComposeFlagValues = Omit<Interfaces.InferredFlags<typeof composeFlags>, 'repo' | 'arch'> & {repo?: string}

/** composeTree's options from the compose flags. */
export async function composeOptions(flags: ComposeFlagValues, resolved: ResolvedTreefile, publish: PublishOptions = {staticDelta: true}): Promise<ComposeTreeOptions> {
  return {
    publish,
    resolved,
    repo: flags.repo,
    cacheDir: flags.cachedir,
    forceNocache: flags['force-nocache'],
    sourceDateEpoch: sourceDateEpochFrom(flags['source-date-epoch']),
    extraMetadata: await parseMetadataFlags(flags),
    writeCommitidTo: flags['write-commitid-to'],
    writeComposejsonTo: flags['write-composejson-to'],
    writeLockfileTo: flags['write-lockfile-to'],
    writeReportTo: flags['write-report-to'],
    lock: await packageLock(flags),
    archiveDir: await archiveDirFlag(flags['archive-dir']),
  }
}

/** --archive-dir as an absolute path, refused unless it is a directory. */
export async function archiveDirFlag(directory: string | undefined): Promise<string | undefined> {
  if (directory === undefined) return undefined
  const info = await stat(directory).catch(() => undefined)
  if (!info?.isDirectory()) throw new UsageError(`--archive-dir ${directory}: no such directory (compose fetch writes one)`)
  return path.resolve(directory)
}

/** --lockfile and --lockfile-strict, the lockfiles read and checked. */
export async function packageLock(flags: {lockfile?: string[]; 'lockfile-strict': boolean}): Promise<PackageLock | undefined> {
  const files = flags.lockfile ?? []
  if (files.length === 0) {
    if (flags['lockfile-strict']) throw new UsageError('--lockfile-strict needs --lockfile FILE')
    return undefined
  }
  return {lockfile: await loadLockfiles(files), files, strict: flags['lockfile-strict']}
}
