import {readFile} from 'node:fs/promises'
import {architectureNamed, hostArchitecture} from '../arch.js'
import {UsageError} from '../errors.js'
import type {OstreeRepo} from '../tools/ostree.js'

/** What the image says about the commit it holds. */
export interface CommitFacts {
  commit: string
  /** Seconds since the epoch: the image's `created`. */
  timestamp: number
  /** Every file's mtime in the layers: SOURCE_DATE_EPOCH, which a rebuild on a newer parent keeps. */
  filesTimestamp: number
  /** dpkg architecture (amd64, arm64, ...). */
  architecture: string
  version?: string
  bootable: boolean
  kernelVersion?: string
  inputHash?: string
  containerCmd?: string[]
}

/** Read the facts from the commit's metadata, as `ostree container encapsulate` does. */
export async function commitFacts(repo: OstreeRepo, commit: string): Promise<CommitFacts> {
  const [timestamp, sourceDateEpoch, packages, version, bootable, kernelVersion, inputHash, containerCmd] = await Promise.all([
    repo.timestamp(commit),
    repo.metadataStrings(commit, 'apt-ostree.source-date-epoch'),
    repo.metadataStrings(commit, 'apt-ostree.packages'),
    repo.metadataStrings(commit, 'version'),
    repo.metadata(commit, 'ostree.bootable'),
    repo.metadataStrings(commit, 'ostree.linux'),
    repo.metadataStrings(commit, 'apt-ostree.inputhash'),
    repo.metadataStrings(commit, 'ostree.container-cmd'),
  ])
  // Packages are listed as name=version:arch; dpkg's own architecture is the tree's.
  const dpkg = packages.find((id) => id.startsWith('dpkg='))
  return {
    commit,
    timestamp,
    // Commits from before the key (or other tools) stamp files with their timestamp.
    filesTimestamp: sourceDateEpoch[0] === undefined ? timestamp : Number(sourceDateEpoch[0]),
    architecture: dpkg?.split(':').at(-1) ?? hostArchitecture().debian,
    version: version[0],
    bootable: bootable === 'true',
    kernelVersion: kernelVersion[0],
    inputHash: inputHash[0],
    containerCmd: containerCmd.length > 0 ? containerCmd : undefined,
  }
}

/** `--image-config FILE`: the `config` object of an OCI image config (like rpm-ostree's). */
export interface ImageConfigInput {
  Env?: string[]
  Cmd?: string[]
  Entrypoint?: string[]
  WorkingDir?: string
  User?: string
  Labels?: Record<string, string>
  ExposedPorts?: Record<string, object>
  Volumes?: Record<string, object>
  StopSignal?: string
}

const CONFIG_KEYS: Record<keyof ImageConfigInput, 'strings' | 'string' | 'map'> = {
  Env: 'strings',
  Cmd: 'strings',
  Entrypoint: 'strings',
  WorkingDir: 'string',
  User: 'string',
  Labels: 'map',
  ExposedPorts: 'map',
  Volumes: 'map',
  StopSignal: 'string',
}

export async function readImageConfig(file: string): Promise<ImageConfigInput> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${file}: cannot read the image config (${error.code ?? error.message})`)
  })
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${file}: the image config is not valid JSON (${(error as Error).message})`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${file}: the image config must be a JSON object (the "config" part of an OCI image config)`)
  for (const [key, item] of Object.entries(value)) {
    const kind = CONFIG_KEYS[key as keyof ImageConfigInput]
    if (!kind) throw new UsageError(`${file}: unknown image config key "${key}" (known: ${Object.keys(CONFIG_KEYS).join(', ')})`)
    const ok =
      kind === 'string' ? typeof item === 'string' : kind === 'strings' ? Array.isArray(item) && item.every((entry) => typeof entry === 'string') : typeof item === 'object' && item !== null && !Array.isArray(item)
    if (!ok) throw new UsageError(`${file}: image config key "${key}" must be ${kind === 'string' ? 'a string' : kind === 'strings' ? 'an array of strings' : 'an object'}`)
    if (key === 'Labels' && !Object.values(item as object).every((label) => typeof label === 'string')) throw new UsageError(`${file}: image config Labels values must be strings`)
  }
  return value as ImageConfigInput
}

/** Labels of the config, also the manifest's annotations: ostree-ext's, then --image-config's, then --label's. */
export function imageLabels(facts: CommitFacts, imageConfig: ImageConfigInput | undefined, labels: Record<string, string>): Record<string, string> {
  const all: Record<string, string> = {
    'containers.bootc': '1',
    'ostree.bootable': 'true',
    'ostree.commit': facts.commit,
    ...(facts.kernelVersion ? {'ostree.linux': facts.kernelVersion} : {}),
    ...(facts.version ? {'org.opencontainers.image.version': facts.version} : {}),
    ...(facts.inputHash ? {'apt-ostree.inputhash': facts.inputHash} : {}),
    ...imageConfig?.Labels,
    ...labels,
  }
  if (!facts.bootable) {
    // Not bootable (no kernel, `container: true`): bootc must not take it for a host image.
    if (!('containers.bootc' in labels)) delete all['containers.bootc']
    if (!('ostree.bootable' in labels)) delete all['ostree.bootable']
  }
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** The image config document (image-spec config.md); key order fixed, so its bytes are too. */
export function imageConfigDocument(facts: CommitFacts, labels: Record<string, string>, imageConfig: ImageConfigInput | undefined, diffIds: string[], layerNames: string[]): object {
  const created = new Date(facts.timestamp * 1000).toISOString().replace(/\.000Z$/, 'Z')
  const {architecture, variant} = architectureNamed(facts.architecture).oci
  const cmd = imageConfig?.Cmd ?? facts.containerCmd
  return {
    created,
    architecture,
    ...(variant ? {variant} : {}),
    os: 'linux',
    config: {
      ...(imageConfig?.User ? {User: imageConfig.User} : {}),
      ...(imageConfig?.ExposedPorts ? {ExposedPorts: imageConfig.ExposedPorts} : {}),
      ...(imageConfig?.Env ? {Env: imageConfig.Env} : {}),
      ...(imageConfig?.Entrypoint ? {Entrypoint: imageConfig.Entrypoint} : {}),
      ...(cmd ? {Cmd: cmd} : {}),
      ...(imageConfig?.Volumes ? {Volumes: imageConfig.Volumes} : {}),
      ...(imageConfig?.WorkingDir ? {WorkingDir: imageConfig.WorkingDir} : {}),
      Labels: labels,
      ...(imageConfig?.StopSignal ? {StopSignal: imageConfig.StopSignal} : {}),
    },
    rootfs: {type: 'layers', diff_ids: diffIds},
    history: layerNames.map((name) => ({created, created_by: name})),
  }
}
