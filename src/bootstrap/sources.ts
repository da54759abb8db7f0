import type {ResolvedTreefile} from '../treefile/index.js'

/** The treefile's repos as one deb822 sources file, keyrings as absolute paths. */
export function renderSources(resolved: ResolvedTreefile): string {
  return resolved.treefile.repos
    .map((repo) => {
      const fields: Array<[string, string]> = [
        ['Types', 'deb'],
        ['URIs', repo.uris.join(' ')],
        ['Suites', repo.suites.join(' ')],
        ['Components', repo.components.join(' ')],
        ['Architectures', resolved.arch],
      ]
      const keyring = resolved.keyrings[repo.name]
      if (keyring) fields.push(['Signed-By', keyring])
      if (repo.trusted) fields.push(['Trusted', 'yes'])
      if (!repo['check-valid-until']) fields.push(['Check-Valid-Until', 'no'])
      return `# ${repo.name}\n${fields.map(([key, value]) => `${key}: ${value}`).join('\n')}\n`
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
