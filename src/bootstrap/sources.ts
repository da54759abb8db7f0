import {AptOstreeError} from '../errors.js'
import type {ResolvedTreefile} from '../treefile/index.js'

/** Where the bootstrap reads a repo from instead of its own URIs and keyring: a local archive. */
export interface SourcesOverride {
  uris: (repoIndex: number) => string[]
  keyring: (repoName: string) => string | undefined
}

/**
 * A deb822 field value: one line, no control characters. The schema already
 * refuses such treefile strings; this keeps a generated file from ever
 * taking one as syntax.
 */
function fieldValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) throw new AptOstreeError(`internal: ${JSON.stringify(value)} cannot be a deb822 field value`)
  return value
}

/**
 * The treefile's repos as one deb822 sources file, keyrings as absolute
 * paths: what the tree keeps, or with OVERRIDE what the bootstrap reads.
 */
export function renderSources(resolved: ResolvedTreefile, override?: SourcesOverride): string {
  return resolved.treefile.repos
    .map((repo, index) => {
      const fields: Array<[string, string]> = [
        ['Types', 'deb'],
        ['URIs', (override?.uris(index) ?? repo.uris).join(' ')],
        ['Suites', repo.suites.join(' ')],
        ['Components', repo.components.join(' ')],
        ['Architectures', resolved.arch],
      ]
      const keyring = override ? override.keyring(repo.name) : resolved.keyrings[repo.name]
      if (keyring) fields.push(['Signed-By', keyring])
      if (repo.trusted) fields.push(['Trusted', 'yes'])
      // The local archive's InRelease files were checked by apt-ostree as the treefile says (a capture's may have expired on purpose).
      if (override || !repo['check-valid-until']) fields.push(['Check-Valid-Until', 'no'])
      return `# ${repo.name}\n${fields.map(([key, value]) => `${key}: ${fieldValue(value)}`).join('\n')}\n`
    })
    .join('\n')
}

/** dpkg `path-exclude` rules for `documentation: false` and `install-langs`. */
export function dpkgFilters(resolved: ResolvedTreefile): string[] {
  const {treefile} = resolved
  const rules: string[] = []
  if (!treefile.documentation) {
    rules.push(
      'path-exclude=/usr/share/doc/*',
      // Licences must stay.
      'path-include=/usr/share/doc/*/copyright',
      'path-exclude=/usr/share/man/*',
      'path-exclude=/usr/share/info/*',
      'path-exclude=/usr/share/groff/*',
      'path-exclude=/usr/share/lintian/*',
      'path-exclude=/usr/share/linda/*',
    )
  }
  if (treefile['install-langs']) {
    rules.push('path-exclude=/usr/share/locale/*', 'path-include=/usr/share/locale/locale.alias')
    for (const lang of treefile['install-langs']) rules.push(`path-include=/usr/share/locale/${lang}/*`, `path-include=/usr/share/locale/${lang}_*/*`)
  }
  return rules
}

/** apt preferences that make excluded packages uninstallable (a hard dependency on one fails). */
export function excludePreferences(resolved: ResolvedTreefile): string | undefined {
  const excluded = resolved.treefile['exclude-packages'] ?? []
  if (excluded.length === 0) return undefined
  return excluded.map((name) => `Package: ${name}\nPin: release *\nPin-Priority: -1\n`).join('\n')
}
