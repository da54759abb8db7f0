import {installedPackages, packageId, type InstalledPackage} from '../dpkg/status.js'
import {TreeFs} from '../sandbox/tree-fs.js'
import type {OstreeRepo} from '../tools/ostree.js'
import type {RunOptions} from '../tools/exec.js'
import {canonicalJson} from '../hash.js'
import {printableTreefile, type ResolvedTreefile} from '../treefile/index.js'
import {TOOL_VERSION} from '../version.js'
import {DPKG_DATABASE, findKernelVersion} from './layout.js'

export interface CommitInput {
  repo: OstreeRepo
  root: string
  resolved: ResolvedTreefile
  parent?: string
  version?: string
  inputHash: string
  /** The input hash's parts, as canonical JSON. */
  inputs: string
  /** The commit's timestamp, seconds since the epoch. */
  timestamp: number
  /** The time of the tree's files, recorded for the image export (the timestamp may be later). */
  sourceDateEpoch: number
  /** `--add-metadata-string` and `--add-metadata-from-json`: win over the treefile's. */
  extraMetadata: Record<string, unknown>
}

export interface CommitResult {
  commit: string
  packages: InstalledPackage[]
  kernelVersion?: string
}

/**
 * `ostree commit` of the tree, without moving the ref: the caller moves it
 * once every later stage has succeeded too. The metadata says what the
 * commit is (docs/architecture.md, "The commit").
 */
export async function commitTree(input: CommitInput, run: RunOptions): Promise<CommitResult> {
  const {resolved, root} = input
  const tree = new TreeFs(root)
  const packages = installedPackages((await tree.read(`/${DPKG_DATABASE}/status`)).toString('utf8'))
  const kernelVersion = resolved.treefile.container ? undefined : await findKernelVersion(tree)
  const metadata: Record<string, unknown> = {
    ...resolved.treefile['add-commit-metadata'],
    ...(input.version ? {version: input.version} : {}),
    'apt-ostree.inputhash': input.inputHash,
    'apt-ostree.inputs': input.inputs,
    'apt-ostree.source-date-epoch': String(input.sourceDateEpoch),
    'apt-ostree.packages': packages.map(packageId),
    'apt-ostree.treefile': canonicalJson(printableTreefile(resolved)),
    'apt-ostree.version': TOOL_VERSION,
    ...(kernelVersion ? {'ostree.bootable': true, 'ostree.linux': kernelVersion} : {}),
    ...(resolved.treefile['container-cmd'] ? {'ostree.container-cmd': resolved.treefile['container-cmd']} : {}),
    ...input.extraMetadata,
  }
  const commit = await input.repo.commit(
    {
      tree: root,
      timestamp: input.timestamp,
      parent: input.parent,
      bindRef: resolved.treefile.ref,
      subject: `${resolved.treefile.ref}${input.version ? ` ${input.version}` : ''}`,
      metadata,
    },
    run,
  )
  return {commit, packages, kernelVersion}
}
