import {mkdir} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import {formatLintReport, runLint} from '../lint/run.js'
import {commitFacts} from '../oci/config.js'
import {exportImage, type ImageOptions, type ImageResult} from '../oci/export.js'
import {OstreeRepo} from '../tools/ostree.js'
import {Lock} from '../lock.js'
import {Workspace} from '../workspace.js'
import {openStaging} from './staging.js'

export interface CommitImageInput extends ImageOptions {
  repo: string
  /** Ref or commit checksum. */
  ref: string
  cacheDir: string
  /** Lint rules not to run on the image. */
  skipLint: string[]
  progress: (line: string) => void
  warn: (message: string) => void
}

/**
 * The content of a commit as files: bare and bare-user repos hold them as
 * they are; an archive repo's objects are compressed, so the commit is
 * first pulled (checked) into the cache's staging repo, which a compose
 * with --repo has already filled.
 */
async function contentRepo(repo: OstreeRepo, commit: string, workspace: Workspace): Promise<OstreeRepo> {
  if (['bare', 'bare-user'].includes(await repo.mode())) return repo
  const staging = await openStaging(workspace)
  if (!(await staging.host.hasWholeCommit(commit))) {
    const source = workspace.repoInSandbox(repo.path)
    await staging.inside.pullLocal(source.path, commit, {log: workspace.log, signal: workspace.signal, readOnly: source.readOnly})
  }
  return staging.host
}

/**
 * A commit of REPO as an OCI image at the output, after bootc's lint passed
 * on exactly the tree the image holds (a fatal finding writes nothing).
 */
export async function exportCommitImage(input: CommitImageInput): Promise<ImageResult> {
  const repo = new OstreeRepo(path.resolve(input.repo))
  if (!(await repo.exists())) throw new AptOstreeError(`${input.repo}: not an OSTree repo`)
  const commit = await repo.resolve(input.ref)
  if (!commit) throw new AptOstreeError(`${input.ref}: no such ref or commit in ${input.repo}`)
  await mkdir(input.cacheDir, {recursive: true})
  const workspace = await Workspace.open(path.resolve(input.cacheDir), 'image')
  try {
    const lock = await Lock.acquire(path.join(workspace.cacheDir, 'apt-ostree.lock'), `cache dir ${input.cacheDir}`)
    workspace.onDispose(() => lock.release())
    const source = await contentRepo(repo, commit, workspace)
    return await exportImage(
      {
        ...input,
        repo: source,
        commit,
        workDir: workspace.workDir,
        log: workspace.log,
        signal: workspace.signal,
        check: async (files) => {
          input.progress('linting the image tree')
          const result = await runLint(files, {rootKind: 'image', skip: input.skipLint})
          if (result.fatal > 0) throw new AptOstreeError(`the image fails bootc's lint; nothing was written\n${formatLintReport(result)}`)
          for (const finding of result.findings) input.warn(`lint ${finding.rule}: ${finding.message}${finding.items.length ? `: ${finding.items.slice(0, 5).join(', ')}` : ''}`)
        },
      },
      await commitFacts(repo, commit),
    )
  } catch (error) {
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}
