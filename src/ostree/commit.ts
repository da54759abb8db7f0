import path from 'node:path'
import {canonicalJson} from '../compose/canonical.js'
import {packageId, readInstalledPackages, type InstalledPackage} from '../dpkg/status.js'
import {DPKG_DATABASE} from '../postprocess/ostreeify/dpkg.js'
import {findKernelVersion} from '../postprocess/ostreeify/kernel.js'
import {gvariantString, type OstreeRepo} from '../tools/ostree.js'
import type {CommandLog} from '../tools/exec.js'
import {printableTreefile, type ResolvedTreefile} from '../treefile/index.js'
import {TOOL_VERSION} from '../version.js'

export interface CommitInput {
  repo: OstreeRepo
  root: string
  resolved: ResolvedTreefile
  parent?: string
  version?: string
  inputHash: string
  sourceDateEpoch: number
  /** `--add-metadata-string` and `--add-metadata-from-json`: win over the treefile's. */
  extraMetadata: Record<string, unknown>
  log: CommandLog
  signal: AbortSignal
}

export interface CommitResult {
  commit: string
  packages: InstalledPackage[]
  kernelVersion?: string
}

function metadataArgument(key: string, value: unknown): string {
  if (typeof value === 'string') return `--add-metadata-string=${key}=${value}`
  if (typeof value === 'boolean') return `--add-metadata=${key}=${value}`
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return `--add-metadata=${key}=@as [${value.map(gvariantString).join(', ')}]`
  }
  // Numbers and structures: as JSON text, which every reader can parse.
  return `--add-metadata-string=${key}=${canonicalJson(value)}`
}

/**
 * `ostree commit` of the tree, without moving the ref: the caller moves it
 * once every later stage has succeeded too. Metadata of DESIGN section 5.
 */
export async function commitTree(input: CommitInput): Promise<CommitResult> {
  const {resolved, root} = input
  const packages = await readInstalledPackages(path.join(root, DPKG_DATABASE, 'status'))
  const kernelVersion = resolved.treefile.container ? undefined : await findKernelVersion(root)
  const metadata: Record<string, unknown> = {
    ...resolved.treefile['add-commit-metadata'],
    ...(input.version ? {version: input.version} : {}),
    'apt-ostree.inputhash': input.inputHash,
    'apt-ostree.packages': packages.map(packageId),
    'apt-ostree.treefile': canonicalJson(printableTreefile(resolved)),
    'apt-ostree.version': TOOL_VERSION,
    ...(kernelVersion ? {'ostree.bootable': true, 'ostree.linux': kernelVersion} : {}),
    ...(resolved.treefile['container-cmd'] ? {'ostree.container-cmd': resolved.treefile['container-cmd']} : {}),
    ...input.extraMetadata,
  }
  const args = [
    `--tree=dir=${root}`,
    `--timestamp=@${input.sourceDateEpoch}`,
    '--orphan',
    ...(input.parent ? [`--parent=${input.parent}`] : []),
    `--bind-ref=${resolved.treefile.ref}`,
    `--subject=${resolved.treefile.ref}${input.version ? ` ${input.version}` : ''}`,
    ...Object.entries(metadata).map(([key, value]) => metadataArgument(key, value)),
  ]
  const commit = await input.repo.commit(args, {log: input.log, signal: input.signal})
  return {commit, packages, kernelVersion}
}
