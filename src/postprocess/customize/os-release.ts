import type {TreeStep} from '../step.js'

/**
 * rpm-ostree's mutate-os-release: in the real os-release file, replace the
 * treefile's substring of VERSION and PRETTY_NAME with the commit version and
 * append OSTREE_VERSION. Without a version (no automatic-version-prefix and
 * no --add-metadata-string version=) there is nothing to put in.
 */
export const mutateOsRelease: TreeStep = {
  name: 'mutate-os-release',
  async run(context) {
    const needle = context.resolved.treefile['mutate-os-release']
    const {version} = context
    if (!needle || !version) return
    const lines = (await context.tree.read('/usr/lib/os-release')).toString('utf8').split('\n').filter((line) => !line.startsWith('OSTREE_VERSION='))
    const mutated = lines.map((line) => (/^(VERSION|PRETTY_NAME)=/.test(line) ? line.replaceAll(needle, version) : line))
    while (mutated.at(-1) === '') mutated.pop()
    mutated.push(`OSTREE_VERSION='${version}'`, '')
    await context.tree.write('/usr/lib/os-release', mutated.join('\n'))
  },
}
