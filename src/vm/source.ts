import path from 'node:path'
import type {Architecture} from '../arch.js'
import type {Workspace} from '../workspace.js'
import {AptOstreeError} from '../errors.js'
import {commitFacts} from '../oci/config.js'
import {commitImage} from '../oci/import.js'
import {TREEFILE_JSON} from '../ostree/layout.js'
import {readImagePlatformConfig, withImageLayout} from '../oci/read.js'
import {formatImageReference, type ImageReference} from '../oci/reference.js'
import {OstreeRepo} from '../tools/ostree.js'

/** What to deploy: REF of REPO, or an OCI image, committed back to OSTree first as bootc would import it (of an index, ARCHITECTURE's platform; the host's by default). */
export type DeploySource = {repo: string; ref: string} | {image: ImageReference; architecture?: Architecture}

export interface ResolvedSource {
  repo: OstreeRepo
  commit: string
  /** The unit to wait for: the treefile's default-target, when the commit records it. */
  defaultTarget?: string
  /**
   * What a deployment of it follows: `REMOTE:REF` when the treefile names
   * the image's remote, else its ref (a local one), else the bare commit.
   */
  origin: string
  /** Debian's name of the commit's architecture. */
  architecture: string
}

/** What the tree's treefile.json says about where it comes from and how it boots. */
interface TreeTreefile {
  ref?: string
  remote?: {name: string}
  'default-target'?: string
}

/** The treefile the commit carries (/usr/share/apt-ostree/treefile.json), as committed or as an image brought it. */
async function treeTreefile(repo: OstreeRepo, commit: string): Promise<TreeTreefile> {
  const text = await repo.readText(commit, TREEFILE_JSON)
  return text === undefined ? {} : (JSON.parse(text) as TreeTreefile)
}

/** What to boot, of what architecture: an image's config says; a commit's packages do (commitFacts). */
async function described(repo: OstreeRepo, commit: string, architecture?: Architecture): Promise<ResolvedSource> {
  const [treefile, facts] = await Promise.all([treeTreefile(repo, commit), commitFacts(repo, commit)])
  const origin = treefile.ref === undefined ? commit : treefile.remote ? `${treefile.remote.name}:${treefile.ref}` : treefile.ref
  return {repo, commit, defaultTarget: treefile['default-target'], origin, architecture: architecture?.debian ?? facts.architecture}
}

/**
 * The repo and commit to deploy, after checking there is something to boot:
 * a commit with a kernel, or an image labelled for bootc.
 */
export async function resolveSource(source: DeploySource, workspace: Workspace, progress: (line: string) => void): Promise<ResolvedSource> {
  if ('image' in source) {
    const name = formatImageReference(source.image)
    const {labels, architecture} = await withImageLayout(source.image, (layout, tag) => readImagePlatformConfig(layout, tag, source.architecture), {allPlatforms: source.architecture !== undefined})
    if (!('containers.bootc' in labels) && !('ostree.bootable' in labels)) throw new AptOstreeError(`${name}: not a bootable image (no containers.bootc or ostree.bootable label)`)
    progress(`committing the image's filesystem (/etc back to /usr/etc)`)
    const {repo, commit} = await commitImage(source.image, workspace, source.architecture)
    return described(repo, commit, architecture)
  }
  const repo = new OstreeRepo(path.resolve(source.repo))
  if (!(await repo.exists())) throw new AptOstreeError(`${source.repo}: not an OSTree repo`)
  const commit = await repo.resolve(source.ref)
  if (!commit) throw new AptOstreeError(`${source.ref}: no such ref or commit in ${source.repo}`)
  const [kernel] = await repo.metadataStrings(commit, 'ostree.linux')
  if (!kernel) throw new AptOstreeError(`${source.ref}: the commit has no kernel (no ostree.linux metadata): nothing to boot`)
  const initramfs = `/usr/lib/modules/${kernel}/initramfs.img`
  if (!(await repo.hasPath(commit, initramfs))) throw new AptOstreeError(`${source.ref}: the commit has no initramfs (${initramfs}): ostree-prepare-root runs from it, so it cannot boot`)
  return described(repo, commit)
}
