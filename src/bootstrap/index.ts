import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {AptOstreeError, ExitCode, formatLocation, ToolError} from '../errors.js'
import {mmdebstrap, simulate, type PackageSelection, type SimulatedPackage} from '../tools/mmdebstrap.js'
import type {ResolvedTreefile} from '../treefile/index.js'
import type {JobContext} from '../workspace.js'
import {dpkgFilters, excludePreferences, renderSources} from './sources.js'

export interface BootstrapInput {
  resolved: ResolvedTreefile
  /** Where the rootfs is created (must not exist). */
  target: string
  /** Shared .deb cache: a second compose downloads nothing it already has. */
  debCache: string
  sourceDateEpoch: number
  /** Its scratch directory holds the sources and preferences files. */
  context: JobContext & {scratch: string}
}

/** The treefile's package selection as mmdebstrap takes it. */
function selection(resolved: ResolvedTreefile, sourcesFile: string, target: string): Omit<PackageSelection, 'writable'> {
  return {
    suite: resolved.treefile.repos[0].suites[0],
    target,
    sourcesFile,
    variant: resolved.treefile.variant,
    arch: resolved.arch,
    packages: resolved.packages.map((entry) => entry.spec),
    recommends: resolved.treefile.recommends,
    dpkgOptions: dpkgFilters(resolved),
  }
}

/** mmdebstrap with the treefile's repos, packages and dpkg filters. */
export async function bootstrap(input: BootstrapInput): Promise<void> {
  const {resolved, context} = input
  const workDir = context.scratch
  const sourcesFile = path.join(workDir, 'apt-ostree.sources')
  await writeFile(sourcesFile, renderSources(resolved))
  const preferences = excludePreferences(resolved)
  const preferencesFile = path.join(workDir, 'apt-ostree-exclude.pref')
  if (preferences) await writeFile(preferencesFile, preferences)
  await mkdir(input.debCache, {recursive: true})
  await mmdebstrap(
    {
      ...selection(resolved, sourcesFile, input.target),
      preferences: preferences ? preferencesFile : undefined,
      debCache: input.debCache,
      sourceDateEpoch: input.sourceDateEpoch,
      writable: [workDir, input.debCache],
    },
    {log: context.log, signal: context.signal, onLine: (line) => context.progress(line)},
  ).catch((error: unknown) => {
    throw locatePackageError(error, resolved)
  })
}

/** apt's messages about a package, pointed at the treefile line that names it. */
const PACKAGE_PROBLEMS = [
  /Unable to locate package (\S+)/,
  /Package '?([^' ]+)'? has no installation candidate/,
  /Couldn't find any package by (?:glob|regex) '([^']+)'/,
  /Version '[^']+' for '([^']+)' was not found/,
  /Release '[^']+' for '([^']+)' was not found/,
]

function locatePackageError(error: unknown, resolved: ResolvedTreefile): unknown {
  if (!(error instanceof ToolError)) return error
  for (const line of error.stderr) {
    for (const pattern of PACKAGE_PROBLEMS) {
      const name = pattern.exec(line)?.[1]
      const entry = resolved.packages.find((pkg) => pkg.name === name || pkg.spec === name)
      if (entry) {
        return new AptOstreeError(`${formatLocation(entry.origin)}: package "${entry.spec}": ${line.replace(/^E: /, '')}`, ExitCode.failed, error.details)
      }
    }
  }
  return error
}

/** `--dry-run`: the package set apt would install, in a throwaway directory; nothing else is written. */
export async function resolvePackageSet(resolved: ResolvedTreefile, signal: AbortSignal): Promise<SimulatedPackage[]> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-dry-run-'))
  try {
    const sourcesFile = path.join(workDir, 'apt-ostree.sources')
    await writeFile(sourcesFile, renderSources(resolved))
    return await simulate({...selection(resolved, sourcesFile, path.join(workDir, 'rootfs')), writable: [workDir]}, {signal}).catch((error: unknown) => {
      throw locatePackageError(error, resolved)
    })
  } finally {
    await rm(workDir, {recursive: true, force: true})
  }
}
