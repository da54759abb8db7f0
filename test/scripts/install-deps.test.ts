import {readFileSync} from 'node:fs'
import path from 'node:path'
import {expect, test} from 'vitest'
import {hostArchitecture} from '../../src/arch.js'
import {hostRequirements} from '../../src/tools/table.js'
import {repoRoot} from '../helpers/cli.js'

// The host-tool table is the truth; the install script and the tool image
// (which run before any TypeScript can) must install what it says this host needs.
const packagesIn = (file: string, pattern: RegExp): string[] => (pattern.exec(readFileSync(path.join(repoRoot, file), 'utf8'))?.[1] ?? '').split(/[\s\\]+/).filter(Boolean)

test('scripts/install-deps.sh and the Containerfile install every package the table needs on this host', () => {
  // Everything for this host's architecture, the optional tools included: CI runs every feature.
  const {tools, files} = hostRequirements([hostArchitecture()])
  const needed = [...new Set([...tools, ...files].map((entry) => entry.package))].sort()
  const script = packagesIn('scripts/install-deps.sh', /PACKAGES="([^"]+)"/)
  const image = packagesIn('Containerfile', /--no-install-recommends \\\n\s+nodejs \\\n([\s\S]+?)\n &&/)
  expect(needed.filter((pkg) => !script.includes(pkg))).toEqual([])
  expect(needed.filter((pkg) => !image.includes(pkg))).toEqual([])
})
