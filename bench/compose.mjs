#!/usr/bin/env node
// Compose benchmarks, every figure measured in this one run on this machine:
//   cold compose ÷ plain mmdebstrap of the same package set   (target ≤ 1.3)
//   no-op rerun                                                (target ≤ 10 s)
//   rebuild after changing only a postprocess script ÷ cold    (target ≤ 0.4)
//   what the rebuild spends checking its caches: ostree fsck of the staging
//   repo and the digest of the restored bootstrapped tree, each timed again
//   on its own on the same cache
// Both the baseline and the cold compose start from empty .deb caches.
// Needs root and the built CLI (npm run build).
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const treefile = path.join(root, process.argv[2] ?? 'treefiles/debian-trixie-minimal.yaml')
const {loadTreefile} = await import(path.join(root, 'dist/treefile/index.js'))
const {renderSources} = await import(path.join(root, 'dist/bootstrap/sources.js'))
const {treeDigest} = await import(path.join(root, 'dist/fs.js'))

const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-bench-'))
const seconds = (command, args, env = {}) => {
  const start = process.hrtime.bigint()
  execFileSync(command, args, {cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: {...process.env, CI: 'true', ...env}})
  return Number(process.hrtime.bigint() - start) / 1e9
}

try {
  const resolved = await loadTreefile(treefile)
  const sources = path.join(work, 'baseline.sources')
  writeFileSync(sources, renderSources(resolved))
  const packages = resolved.packages.map((entry) => entry.spec).join(',')
  console.error(`baseline: mmdebstrap --variant=${resolved.treefile.variant} of ${resolved.packages.length} packages`)
  const baseline = seconds('mmdebstrap', ['--quiet', '--mode=root', `--variant=${resolved.treefile.variant}`, `--include=${packages}`, resolved.treefile.repos[0].suites[0], path.join(work, 'baseline-rootfs'), sources])
  rmSync(path.join(work, 'baseline-rootfs'), {recursive: true, force: true})

  // A wrapper treefile whose only difference between builds is a postprocess script.
  const wrapper = (marker) => {
    const file = path.join(work, 'bench.yaml')
    writeFileSync(file, `include: ${treefile}\npostprocess:\n  - "echo ${marker} > /usr/share/apt-ostree-bench"\n`)
    return file
  }
  const compose = (file) => seconds(path.join(root, 'bin/run.js'), ['compose', 'tree', file, '--repo', path.join(work, 'repo'), '--cachedir', path.join(work, 'cache'), '--quiet'])
  console.error('cold compose (empty caches)')
  const cold = compose(wrapper(1))
  console.error('no-op rerun')
  const noop = compose(wrapper(1))
  console.error('rebuild after a postprocess change')
  const rebuild = compose(wrapper(2))
  console.error('the cache checks on their own')
  const cache = path.join(work, 'cache')
  const fsck = seconds('ostree', [`--repo=${path.join(cache, 'staging-repo')}`, 'fsck', '--quiet'])
  const entry = readdirSync(path.join(cache, 'rootfs')).find((name) => /^[0-9a-f]{64}$/.test(name))
  const digestStart = process.hrtime.bigint()
  await treeDigest(path.join(cache, 'rootfs', entry))
  const digest = Number(process.hrtime.bigint() - digestStart) / 1e9

  const report = {
    baselineSeconds: +baseline.toFixed(1),
    coldSeconds: +cold.toFixed(1),
    coldRatio: +(cold / baseline).toFixed(2),
    noopSeconds: +noop.toFixed(2),
    rebuildSeconds: +rebuild.toFixed(1),
    rebuildRatio: +(rebuild / cold).toFixed(2),
    stagingFsckSeconds: +fsck.toFixed(1),
    treeDigestSeconds: +digest.toFixed(1),
    checksShareOfRebuild: +((fsck + digest) / rebuild).toFixed(2),
  }
  console.log(`plain mmdebstrap:              ${report.baselineSeconds} s`)
  console.log(`cold compose:                  ${report.coldSeconds} s  ratio ${report.coldRatio} (target ≤ 1.3)`)
  console.log(`no-op rerun:                   ${report.noopSeconds} s  (target ≤ 10 s)`)
  console.log(`rebuild, postprocess changed:  ${report.rebuildSeconds} s  ratio ${report.rebuildRatio} of cold (target ≤ 0.4)`)
  console.log(`  of which cache checks:       staging fsck ${report.stagingFsckSeconds} s + tree digest ${report.treeDigestSeconds} s = ${report.checksShareOfRebuild} of the rebuild`)
  console.log(JSON.stringify(report))
} finally {
  rmSync(work, {recursive: true, force: true})
}
