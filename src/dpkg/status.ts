import {compareText} from '../text.js'

export interface InstalledPackage {
  name: string
  version: string
  architecture: string
  /** dpkg's Installed-Size, in KiB. */
  installedSize: number
}

/** Installed packages from a dpkg `status` file's text, sorted by name. */
export function installedPackages(text: string): InstalledPackage[] {
  const packages: InstalledPackage[] = []
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1]
    if (!/ installed$/.test(field('Status') ?? '')) continue
    packages.push({name: field('Package') ?? '', version: field('Version') ?? '', architecture: field('Architecture') ?? '', installedSize: Number(field('Installed-Size') ?? 0)})
  }
  return packages.sort((a, b) => compareText(a.name, b.name))
}

/** `name=version:arch`, the form the commit metadata lists. */
export function packageId(pkg: InstalledPackage): string {
  return `${pkg.name}=${pkg.version}:${pkg.architecture}`
}
