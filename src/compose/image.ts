import {secondsSince} from '../clock.js'
import {mkdir} from 'node:fs/promises'
import path from 'node:path'
import {AptOstreeError} from '../errors.js'
import {formatLintReport, runLint, type LintFinding} from '../lint/run.js'
import {commitFacts} from '../oci/config.js'
import type {FileTree} from '../file-tree.js'
import {exportImage, exportImageIndex, type ImageOptions, type ImageResult, type ImageSource, type IndexResult} from '../oci/export.js'
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
    await staging.inside.pullLocal(source.path, commit, {log: workspace.log, signal: workspace.signal, readOnly: source.readOnly, grant: source.grant})
  }
  return staging.host
}

/** REPO's commits of REVS, readable as files (a bare-user copy for an archive repo), under the cache dir's lock. */
export async function withCommitContent<T>(input: {repo: string; revs: string[]; cacheDir: string; purpose: string}, work: (content: {source: OstreeRepo; repo: OstreeRepo; commits: string[]; workspace: Workspace}) => Promise<T>): Promise<T> {
  const repo = new OstreeRepo(path.resolve(input.repo))
  if (!(await repo.exists())) throw new AptOstreeError(`${input.repo}: not an OSTree repo`)
  const commits: string[] = []
  for (const rev of input.revs) {
    const commit = await repo.resolve(rev)
    if (!commit || !(await repo.hasCommit(commit))) throw new AptOstreeError(`${rev}: no such ref or commit in ${input.repo}`)
    commits.push(commit)
  }
  await mkdir(input.cacheDir, {recursive: true})
  const workspace = await Workspace.open(path.resolve(input.cacheDir), input.purpose)
  try {
    const lock = await Lock.acquire(path.join(workspace.cacheDir, 'apt-ostree.lock'), `cache dir ${input.cacheDir}`)
    workspace.onDispose(() => lock.release())
    let source = repo
    for (const commit of commits) source = await contentRepo(repo, commit, workspace)
    return await work({source, repo, commits, workspace})
  } catch (error) {
    throw workspace.interrupted(error)
  } finally {
    await workspace.dispose()
  }
}

/**
 * The image written, with what bootc's lint found in it (absent when the
 * image at the output was kept as it was, unlinted) and the seconds it took.
 */
export type CommitImageResult = ImageResult & {lint?: LintFinding[]; seconds: number}

/** An index written, with what bootc's lint found in each platform's image (by dpkg architecture) and the seconds it took. */
export type CommitIndexResult = IndexResult & {lint: Record<string, LintFinding[]>; seconds: number}

/** The export's context in WORKSPACE, with bootc's lint as the check of each image's tree; what it found goes to RECORD. */
function exportContext(input: Omit<CommitImageInput, 'ref'>, workspace: Workspace, record: (architecture: string, findings: LintFinding[]) => void) {
  const {repo: _repo, cacheDir: _cacheDir, skipLint, ...options} = input
  return {
    ...options,
    workDir: workspace.workDir,
    log: workspace.log,
    signal: workspace.signal,
    check: async (files: FileTree, image: ImageSource) => {
      input.progress(`linting the ${image.facts.architecture} image tree`)
      const result = await runLint(files, {rootKind: 'image', skip: skipLint})
      if (result.fatal > 0) throw new AptOstreeError(`the ${image.facts.architecture} image fails bootc's lint; nothing was written\n${formatLintReport(result)}`)
      record(image.facts.architecture, result.findings)
      for (const finding of result.findings) input.warn(`lint ${finding.rule}: ${finding.message}${finding.items.length ? `: ${finding.items.slice(0, 5).join(', ')}` : ''}`)
    },
  }
}

/**
 * A commit of REPO as an OCI image at the output, after bootc's lint passed
 * on exactly the tree the image holds (a fatal finding writes nothing).
 */
export function exportCommitImage(input: CommitImageInput): Promise<CommitImageResult> {
  return withCommitContent({repo: input.repo, revs: [input.ref], cacheDir: input.cacheDir, purpose: 'image'}, async ({source, repo, commits: [commit], workspace}) => {
    let lint: LintFinding[] | undefined
    const started = performance.now()
    const image = await exportImage({...exportContext(input, workspace, (_, findings) => (lint = findings)), repo: source, commit}, await commitFacts(repo, commit))
    const seconds = secondsSince(started)
    return lint ? {...image, lint, seconds} : {...image, seconds}
  })
}

/** Commits of REPO, one per architecture (REFS), as one OCI image index at the output, each platform's image linted as exportCommitImage lints one. */
export function exportCommitImageIndex(input: Omit<CommitImageInput, 'ref'> & {refs: string[]}): Promise<CommitIndexResult> {
  return withCommitContent({repo: input.repo, revs: input.refs, cacheDir: input.cacheDir, purpose: 'image'}, async ({source, repo, commits, workspace}) => {
    const lint: Record<string, LintFinding[]> = {}
    const started = performance.now()
    const sources = await Promise.all(commits.map(async (commit) => ({repo: source, commit, facts: await commitFacts(repo, commit)})))
    const index = await exportImageIndex({...exportContext(input, workspace, (architecture, findings) => (lint[architecture] = findings)), sources})
    return {...index, lint, seconds: secondsSince(started)}
  })
}
