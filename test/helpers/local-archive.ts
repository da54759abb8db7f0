import {createHash} from 'node:crypto'
import {chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'

/** A package to build: its control fields and maintainer scripts, no files. */
export interface TestPackage {
  name: string
  version: string
  description: string
  /** Maintainer scripts by name (postinst, preinst), made executable. */
  scripts: Record<string, string>
}

const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/**
 * An unsigned apt archive at DIRECTORY with SUITE/main/binary-ARCH holding
 * PACKAGES, built with dpkg-deb: a repo a treefile names `trusted: true`,
 * as file://DIRECTORY.
 */
export async function writeLocalArchive(directory: string, suite: string, arch: string, packages: TestPackage[]): Promise<void> {
  const pool = path.join(directory, 'pool/main')
  await mkdir(pool, {recursive: true})
  const stanzas: string[] = []
  for (const pkg of packages) {
    const build = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-deb-'))
    try {
      await mkdir(path.join(build, 'DEBIAN'))
      await writeFile(path.join(build, 'DEBIAN/control'), `Package: ${pkg.name}\nVersion: ${pkg.version}\nArchitecture: ${arch}\nMaintainer: apt-ostree tests <tests@example.invalid>\nDescription: ${pkg.description}\n`)
      for (const [name, text] of Object.entries(pkg.scripts)) {
        await writeFile(path.join(build, 'DEBIAN', name), text)
        await chmod(path.join(build, 'DEBIAN', name), 0o755)
      }
      const filename = `pool/main/${pkg.name}_${pkg.version}_${arch}.deb`
      await execa('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', build, path.join(directory, filename)])
      const deb = await readFile(path.join(directory, filename))
      stanzas.push(`Package: ${pkg.name}\nVersion: ${pkg.version}\nArchitecture: ${arch}\nMaintainer: apt-ostree tests <tests@example.invalid>\nFilename: ${filename}\nSize: ${(await stat(path.join(directory, filename))).size}\nSHA256: ${sha256Of(deb)}\nDescription: ${pkg.description}\n`)
    } finally {
      await rm(build, {recursive: true, force: true})
    }
  }
  const dists = path.join(directory, 'dists', suite)
  const index = `main/binary-${arch}/Packages`
  await mkdir(path.join(dists, path.dirname(index)), {recursive: true})
  const packagesText = Buffer.from(stanzas.join('\n'))
  await writeFile(path.join(dists, index), packagesText)
  await writeFile(path.join(dists, 'InRelease'), [
    'Origin: apt-ostree tests', `Suite: ${suite}`, `Codename: ${suite}`, 'Date: Thu, 01 Jan 2026 00:00:00 UTC',
    `Architectures: ${arch}`, 'Components: main', 'SHA256:', ` ${sha256Of(packagesText)} ${packagesText.length} ${index}`, '',
  ].join('\n'))
}
