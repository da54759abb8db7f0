import path from 'node:path'
import type {Workspace} from '../workspace.js'
import {AptOstreeError} from '../errors.js'
import {commitImage} from '../oci/import.js'
import {readImageLabels, withImageLayout} from '../oci/read.js'
import {formatImageReference, type ImageReference} from '../oci/reference.js'
import {OstreeRepo} from '../tools/ostree.js'

/** What to deploy: REF of REPO, or an OCI image (committed back to OSTree first, as bootc would import it). */
export type DeploySource = {repo: string; ref: string} | {image: ImageReference}

export interface ResolvedSource {
  repo: OstreeRepo
  commit: string
  /** The unit to wait for: the treefile's default-target, when the commit records it. */
  defaultTarget?: string
}

/** The default target the commit's treefile asked for. */
async function commitTarget(repo: OstreeRepo, commit: string): Promise<string | undefined> {
  const [treefile] = await repo.metadataStrings(commit, 'apt-ostree.treefile')
  if (!treefile) return undefined
  return (JSON.parse(treefile) as {'default-target'?: string})['default-target']
}

/**
 * The repo and commit to deploy, after checking there is something to boot:
 * a commit with a kernel, or an image labelled for bootc.
 */
export async function resolveSource(source: DeploySource, workspace: Workspace, progress: (line: string) => void): Promise<ResolvedSource> {
  if ('image' in source) {
    const name = formatImageReference(source.image)
    const labels = await withImageLayout(source.image, readImageLabels)
    if (!('containers.bootc' in labels) && !('ostree.bootable' in labels)) throw new AptOstreeError(`${name}: not a bootable image (no containers.bootc or ostree.bootable label)`)
    progress(`committing the image's filesystem (/etc back to /usr/etc)`)
    const {repo, commit} = await commitImage(source.image, workspace)
    return {repo, commit}
  }
  const repo = new OstreeRepo(path.resolve(source.repo))
  if (!(await repo.exists())) throw new AptOstreeError(`${source.repo}: not an OSTree repo`)
  const commit = await repo.resolve(source.ref)
  if (!commit) throw new AptOstreeError(`${source.ref}: no such ref or commit in ${source.repo}`)
  const [kernel] = await repo.metadataStrings(commit, 'ostree.linux')
  if (!kernel) throw new AptOstreeError(`${source.ref}: the commit has no kernel (no ostree.linux metadata): nothing to boot`)
  const initramfs = `/usr/lib/modules/${kernel}/initramfs.img`
  if (!(await repo.hasPath(commit, initramfs))) throw new AptOstreeError(`${source.ref}: the commit has no initramfs (${initramfs}): ostree-prepare-root runs from it, so it cannot boot`)
  return {repo, commit, defaultTarget: await commitTarget(repo, commit)}
}
