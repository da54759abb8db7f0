import {stat} from 'node:fs/promises'
import path from 'node:path'
import {UsageError} from '../errors.js'
import {secretKey} from '../tools/gpg.js'
import {OstreeRepo} from '../tools/ostree.js'
import type {RunOptions} from '../tools/exec.js'

/** How a compose signs its commit and the repo's summary. */
export type Signing = {kind: 'gpg'; keyId: string; homedir?: string} | {kind: 'ed25519'; keyFile: string}

/** Signing that `checkSigning` found workable; a GPG key with the fingerprint its signatures name. */
export type CheckedSigning = (Extract<Signing, {kind: 'gpg'}> & {fingerprint: string}) | Extract<Signing, {kind: 'ed25519'}>

/** What publishing does after the commit lands in an archive repo. */
export interface PublishOptions<S extends Signing = Signing> {
  signing?: S
  /** A static delta from the ref's parent (`--no-static-delta` turns it off). */
  staticDelta: boolean
}

/**
 * Refuse signing that cannot work, before any work: no --repo (a signature
 * lives in the repo: the staging repo is the cache's, an image carries
 * none), a homedir that is not a directory, a key without its secret part,
 * ed25519 where this host's ostree lacks it, a key file that is not there.
 */
export async function checkSigning(signing: Signing | undefined, repo: string | undefined): Promise<CheckedSigning | undefined> {
  if (!signing) return undefined
  const flag = signing.kind === 'gpg' ? `--gpg-sign ${signing.keyId}` : '--sign-type ed25519'
  if (repo === undefined) throw new UsageError(`${flag} needs --repo: signatures live in the repo machines pull from`)
  if (signing.kind === 'gpg') {
    if (signing.homedir !== undefined && !(await stat(signing.homedir).catch(() => undefined))?.isDirectory()) throw new UsageError(`--gpg-homedir ${signing.homedir}: no such directory`)
    const key = await secretKey(signing.keyId, signing.homedir)
    if ('problem' in key) throw new UsageError(`${flag}: ${key.problem} in ${signing.homedir ?? "gpg's default homedir"} (gpg --list-secret-keys ${signing.keyId} shows what is there)`)
    return {...signing, fingerprint: key.fingerprint}
  }
  const {version, features} = await OstreeRepo.features()
  if (!features.includes('sign-ed25519')) throw new UsageError(`--sign-type ed25519: this host's ostree ${version} is built without sign-ed25519 (its features: ${features.join(', ')}); sign with --gpg-sign instead`)
  if (!(await stat(signing.keyFile).catch(() => undefined))?.isFile()) throw new UsageError(`--sign-key ${signing.keyFile}: no such file`)
  return signing
}

/**
 * Sign the commit (in REPO, the host's repo: the keys never enter the
 * sandbox), then move REF to it: machines never see it unsigned. Then, for
 * an archive repo machines pull from: a static delta from the parent,
 * deltas to commits no ref points at any more deleted, and the summary
 * regenerated (signed like the commit). Run only for a new commit: an
 * unchanged compose leaves every byte of the repo as it was.
 */
export async function publishCommit(repo: OstreeRepo, commit: {ref: string; commit: string; parent?: string}, options: PublishOptions<CheckedSigning>, run: RunOptions & {progress: (line: string) => void}): Promise<void> {
  const {signing} = options
  if (signing?.kind === 'gpg') {
    // The same inputs give the same commit: one signature per key, however often it is composed.
    if (!(await repo.gpgSignatureKeys(commit.commit, run)).includes(signing.fingerprint.slice(-16))) {
      run.progress(`signing with GPG key ${signing.keyId}`)
      await repo.gpgSign(commit.commit, signing, run)
    }
  } else if (signing?.kind === 'ed25519') {
    run.progress('signing with ed25519')
    await repo.ed25519Sign(commit.commit, signing.keyFile, run)
  }
  await repo.setRef(commit.ref, commit.commit, run)
  if (!(await repo.mode()).startsWith('archive')) return
  if (options.staticDelta && commit.parent && (await repo.hasCommit(commit.parent))) {
    run.progress(`static delta ${commit.parent.slice(0, 12)} → ${commit.commit.slice(0, 12)}`)
    await repo.generateStaticDelta(commit.parent, commit.commit, run)
  }
  const heads = new Set(await Promise.all((await repo.refs('', run)).map(async (ref) => (await repo.resolve(ref))!)))
  for (const delta of await repo.staticDeltas(run)) {
    if (!heads.has(delta.to)) await repo.deleteStaticDelta(delta.name, run)
  }
  run.progress(`summary of ${path.basename(repo.path)}${signing ? ' (signed)' : ''}`)
  await repo.updateSummary({gpg: signing?.kind === 'gpg' ? signing : undefined, ed25519KeyFile: signing?.kind === 'ed25519' ? signing.keyFile : undefined}, run)
}
