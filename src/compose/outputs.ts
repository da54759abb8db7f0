import {mkdir, readdir, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {UsageError} from '../errors.js'
import {assertWritable} from '../fs.js'
import {Lock} from '../lock.js'
import {OstreeRepo} from '../tools/ostree.js'
import type {Workspace} from '../workspace.js'
import {openStaging, type StagingRepo} from './staging.js'

/** Where a compose writes besides the cache. */
export interface ComposeOutputs {
  repo?: string
  writeCommitidTo?: string
  writeComposejsonTo?: string
  writeLockfileTo?: string
  /** Checked here; written by the caller (compose/report.ts) once the image, if any, is written too. */
  writeReportTo?: string
}

/**
 * Fail before any work when an output cannot be written: `--repo` must be
 * absent, an empty directory or an OSTree repo (anything else would be
 * made one, and ostree cleans its tmp/); the files the results go to must
 * be writable and not directories.
 */
export async function checkOutputs(options: ComposeOutputs): Promise<void> {
  if (options.repo) {
    const repo = path.resolve(options.repo)
    const info = await stat(repo).catch(() => undefined)
    if (info && !info.isDirectory()) throw new UsageError(`--repo ${options.repo}: is a file, not an OSTree repo`)
    if (info && !(await new OstreeRepo(repo).exists()) && (await readdir(repo)).length > 0) {
      throw new UsageError(`--repo ${options.repo}: is neither an OSTree repo nor empty; give a new or empty directory, or an existing repo`)
    }
    if (!info) await assertWritable(path.join(repo, 'config'), `--repo ${options.repo}`)
  }
  for (const [flag, file] of [['--write-commitid-to', options.writeCommitidTo], ['--write-composejson-to', options.writeComposejsonTo], ['--write-lockfile-to', options.writeLockfileTo], ['--write-report-to', options.writeReportTo]] as const) {
    if (!file) continue
    if ((await stat(file).catch(() => undefined))?.isDirectory()) throw new UsageError(`${flag} ${file}: is a directory`)
    await assertWritable(file, `${flag} ${file}`)
  }
}

/** The repo a compose writes to, and the staging repo the sandbox commits to (the target too without --repo). */
export interface Repos {
  target: OstreeRepo
  staging: StagingRepo
  /**
   * What this compose made of --repo: the directory itself, or a repo in a
   * directory that was empty; a failed compose takes it back (discardNewRepo).
   */
  made?: 'directory' | 'repo'
}

/**
 * The commit is made by the sandbox into the staging repo; an archive
 * --repo gets it with a checked `pull-local`, which compresses only new
 * objects, in parallel.
 */
export async function openRepos(options: Pick<ComposeOutputs, 'repo'>, workspace: Workspace): Promise<Repos> {
  const staging = await openStaging(workspace)
  if (!options.repo) return {target: staging.host, staging}
  const target = new OstreeRepo(path.resolve(options.repo))
  let made: Repos['made']
  if (!(await target.exists())) {
    made = (await stat(target.path).catch(() => undefined)) ? 'repo' : 'directory'
    await mkdir(target.path, {recursive: true})
    await target.init('archive', {log: workspace.log})
  }
  const repoLock = await Lock.acquire(path.join(target.path, 'apt-ostree.lock'), `repo ${target.path}`)
  workspace.onDispose(() => repoLock.release())
  return {target, staging, made}
}

/** After a failed compose, --repo as it was: a repo this compose made is removed, an empty directory it made one of is emptied. */
export async function discardNewRepo(repos: Repos): Promise<void> {
  if (repos.made === 'directory') await rm(repos.target.path, {recursive: true, force: true})
  if (repos.made === 'repo') for (const name of await readdir(repos.target.path)) await rm(path.join(repos.target.path, name), {recursive: true, force: true})
}
