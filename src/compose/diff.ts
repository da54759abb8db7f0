import {isDeepStrictEqual} from 'node:util'
import {commitFacts} from '../oci/config.js'
import {layerName, packComponents, type Packing} from '../oci/chunking.js'
import {imageContent, layerEntries, layerFingerprint} from '../oci/content.js'
import {TREEFILE_JSON} from '../ostree/layout.js'
import {CommitTree} from '../ostree/tree.js'
import type {OstreeRepo} from '../tools/ostree.js'
import type {Workspace} from '../workspace.js'
import {withCommitContent} from './image.js'
import type {InputParts} from './plan.js'

/** One build, as the diff names it. */
export interface BuildId {
  commit: string
  version?: string
}

/** What changed in a keyed set of digests or values: names added, removed and changed. */
export interface KeyedChanges {
  added: string[]
  removed: string[]
  changed: string[]
}

export interface ValueChange<T> {
  from: T
  to: T
}

/** A top-level treefile key whose value changed; for a list, the items added and removed. */
export interface TreefileChange {
  key: string
  from?: unknown
  to?: unknown
  added?: unknown[]
  removed?: unknown[]
}

export interface PackageVersion {
  name: string
  version: string
  architecture: string
}

export interface LayerChange {
  /** 1-based, in manifest order. */
  index: number
  name: string
  components: string[]
  /** Bytes of content in the layer of the second build. */
  size: number
}

export interface BuildDiff {
  from: BuildId
  to: BuildId
  /** The input hash's parts, part by part; undefined when a commit does not record them (built before they were). */
  inputs?: {
    tool?: ValueChange<string>
    toolCode: boolean
    files: KeyedChanges
    /** Repo suites by URL: a changed InRelease digest is a suite that moved. */
    suites: KeyedChanges
    sourceDateEpoch?: ValueChange<number>
    extraMetadata: KeyedChanges
    lock?: ValueChange<string | null>
  }
  /** The treefile each commit carries, compared key by key. */
  treefile: TreefileChange[]
  packages: {
    added: PackageVersion[]
    removed: PackageVersion[]
    /** A version that changed: upgraded, or downgraded. */
    changed: Array<{name: string; architecture: string; from: string; to: string}>
  }
  /** The second build's image layers whose bytes differ from the first's, its grouping kept as a build with the first image at its output keeps it. */
  layers: {count: ValueChange<number>; changed: LayerChange[]}
}

export interface DiffInput {
  repo: string
  from: string
  to: string
  cacheDir: string
  maxLayers: number
  /** The first build's image manifest, whose grouping the first image has (default: a fresh grouping). */
  previousPacking?: Packing
  progress: (line: string) => void
}

/** `name=version:arch`, as apt-ostree.packages lists them (a version may hold colons: its epoch). */
export function parsePackageId(id: string): PackageVersion {
  const equals = id.indexOf('=')
  const colon = id.lastIndexOf(':')
  return {name: id.slice(0, equals), version: id.slice(equals + 1, colon), architecture: id.slice(colon + 1)}
}

function keyedChanges(before: Record<string, unknown>, after: Record<string, unknown>): KeyedChanges {
  const names = (record: Record<string, unknown>): string[] => Object.keys(record).sort()
  return {
    added: names(after).filter((name) => !(name in before)),
    removed: names(before).filter((name) => !(name in after)),
    changed: names(after).filter((name) => name in before && !isDeepStrictEqual(before[name], after[name])),
  }
}

function valueChange<T>(from: T, to: T): ValueChange<T> | undefined {
  return isDeepStrictEqual(from, to) ? undefined : {from, to}
}

/** The input parts of two builds, part by part. */
export function diffInputs(before: InputParts, after: InputParts): NonNullable<BuildDiff['inputs']> {
  return {
    tool: valueChange(before.tool, after.tool),
    toolCode: before.toolCode !== after.toolCode,
    files: keyedChanges(before.files, after.files),
    suites: keyedChanges(before.releases, after.releases),
    sourceDateEpoch: valueChange(before.sourceDateEpoch, after.sourceDateEpoch),
    extraMetadata: keyedChanges(before.extraMetadata, after.extraMetadata),
    lock: valueChange(before.lock ?? null, after.lock ?? null),
  }
}

/** Two treefiles, top-level key by key; lists by item, in order of the second. */
export function diffTreefiles(before: Record<string, unknown>, after: Record<string, unknown>): TreefileChange[] {
  const changes: TreefileChange[] = []
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const [from, to] = [before[key], after[key]]
    if (isDeepStrictEqual(from, to)) continue
    if (Array.isArray(from) && Array.isArray(to)) {
      const has = (list: unknown[], item: unknown): boolean => list.some((other) => isDeepStrictEqual(other, item))
      changes.push({key, added: to.filter((item) => !has(from, item)), removed: from.filter((item) => !has(to, item))})
    } else changes.push({key, ...(from === undefined ? {} : {from}), ...(to === undefined ? {} : {to})})
  }
  return changes
}

/** Packages added, removed and at another version, by name and architecture. */
export function diffPackageIds(before: string[], after: string[]): BuildDiff['packages'] {
  const byKey = (ids: string[]): Map<string, PackageVersion> => new Map(ids.map(parsePackageId).map((pkg) => [`${pkg.name}:${pkg.architecture}`, pkg]))
  const [old, now] = [byKey(before), byKey(after)]
  return {
    added: [...now].filter(([key]) => !old.has(key)).map(([, pkg]) => pkg),
    removed: [...old].filter(([key]) => !now.has(key)).map(([, pkg]) => pkg),
    changed: [...now].filter(([key, pkg]) => old.has(key) && old.get(key)!.version !== pkg.version).map(([key, pkg]) => ({name: pkg.name, architecture: pkg.architecture, from: old.get(key)!.version, to: pkg.version})),
  }
}

interface CommitLayers {
  packing: Packing
  fingerprints: string[]
  sizes: number[]
}

async function commitLayers(source: OstreeRepo, repo: OstreeRepo, commit: string, maxLayers: number, previous: Packing | undefined, workspace: Workspace): Promise<CommitLayers> {
  const tree = await CommitTree.read(source, commit, {log: workspace.log, signal: workspace.signal})
  const content = await imageContent(tree)
  const packing = packComponents(content.components, maxLayers, previous)
  const {filesTimestamp} = await commitFacts(repo, commit)
  const layers = layerEntries(content.entries, packing)
  return {packing, fingerprints: layers.map((entries) => layerFingerprint(entries, filesTimestamp)), sizes: layers.map((entries) => entries.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0))}
}

async function commitRecord(repo: OstreeRepo, commit: string): Promise<{id: BuildId; inputs?: InputParts; packages: string[]; treefile: Record<string, unknown>}> {
  const [version, inputs, packages, treefile] = await Promise.all([repo.metadataStrings(commit, 'version'), repo.metadataStrings(commit, 'apt-ostree.inputs'), repo.metadataStrings(commit, 'apt-ostree.packages'), repo.readText(commit, TREEFILE_JSON)])
  return {
    id: {commit, ...(version[0] === undefined ? {} : {version: version[0]})},
    inputs: inputs[0] === undefined ? undefined : (JSON.parse(inputs[0]) as InputParts),
    packages,
    treefile: treefile === undefined ? {} : (JSON.parse(treefile) as Record<string, unknown>),
  }
}

/**
 * What changed between two builds of REPO: their inputs part by part (from
 * apt-ostree.inputs), their treefiles, their packages, and the image layers
 * that differ, computed from the commits as the image export lays them out.
 */
export function diffBuilds(input: DiffInput): Promise<BuildDiff> {
  return withCommitContent({repo: input.repo, revs: [input.from, input.to], cacheDir: input.cacheDir, purpose: 'diff'}, async ({source, repo, commits: [from, to], workspace}) => {
    const [before, after] = await Promise.all([commitRecord(repo, from), commitRecord(repo, to)])
    input.progress('laying out the image layers of both commits')
    const first = await commitLayers(source, repo, from, input.maxLayers, input.previousPacking, workspace)
    const second = await commitLayers(source, repo, to, input.maxLayers, first.packing, workspace)
    const changed = second.packing
      .map((components, index) => ({index: index + 1, name: layerName(components), components, size: second.sizes[index]}))
      .filter((layer) => first.fingerprints[layer.index - 1] !== second.fingerprints[layer.index - 1])
    return {
      from: before.id,
      to: after.id,
      ...(before.inputs && after.inputs ? {inputs: diffInputs(before.inputs, after.inputs)} : {}),
      treefile: diffTreefiles(before.treefile, after.treefile),
      packages: diffPackageIds(before.packages, after.packages),
      layers: {count: {from: first.packing.length, to: second.packing.length}, changed},
    }
  })
}

const short = (commit: string): string => commit.slice(0, 12)
const build = (id: BuildId): string => `${short(id.commit)}${id.version ? ` (${id.version})` : ''}`
const json = (value: unknown): string => JSON.stringify(value)

/** The diff as text, one change per line; treefile values as JSON, so that no string from a treefile acts as syntax. */
export function formatDiff(diff: BuildDiff): string {
  const lines = [`${build(diff.from)} → ${build(diff.to)}`]
  const {inputs} = diff
  if (!inputs) lines.push('inputs: not recorded by one of the commits')
  else {
    if (inputs.tool) lines.push(`tool: ${inputs.tool.from} → ${inputs.tool.to}`)
    else if (inputs.toolCode) lines.push('tool: its code changed')
    for (const [label, changes] of [['file', inputs.files], ['suite', inputs.suites], ['metadata', inputs.extraMetadata]] as const) {
      for (const name of changes.added) lines.push(`${label} added: ${name}`)
      for (const name of changes.removed) lines.push(`${label} removed: ${name}`)
      for (const name of changes.changed) lines.push(`${label} ${label === 'suite' ? 'moved' : 'changed'}: ${name}`)
    }
    if (inputs.sourceDateEpoch) lines.push(`SOURCE_DATE_EPOCH: ${inputs.sourceDateEpoch.from} → ${inputs.sourceDateEpoch.to}`)
    if (inputs.lock) lines.push(`lock: ${inputs.lock.from ?? 'none'} → ${inputs.lock.to ?? 'none'}`)
  }
  for (const change of diff.treefile) {
    if (change.added || change.removed) lines.push(`treefile ${change.key}:${[...change.added!.map((item) => ` +${json(item)}`), ...change.removed!.map((item) => ` -${json(item)}`)].join('')}`)
    else lines.push(`treefile ${change.key}: ${change.from === undefined ? '(unset)' : json(change.from)} → ${change.to === undefined ? '(unset)' : json(change.to)}`)
  }
  const {packages, layers} = diff
  lines.push(`packages: ${packages.added.length} added, ${packages.removed.length} removed, ${packages.changed.length} changed`)
  for (const pkg of packages.added) lines.push(`  + ${pkg.name} ${pkg.version}`)
  for (const pkg of packages.removed) lines.push(`  - ${pkg.name} ${pkg.version}`)
  for (const pkg of packages.changed) lines.push(`  ~ ${pkg.name} ${pkg.from} → ${pkg.to}`)
  lines.push(`layers: ${layers.changed.length} of ${layers.count.to} changed${layers.count.from === layers.count.to ? '' : ` (${layers.count.from} before)`}`)
  for (const layer of layers.changed) lines.push(`  ${layer.index}: ${layer.name} (${(layer.size / 1e6).toFixed(1)} MB)`)
  return lines.join('\n')
}
