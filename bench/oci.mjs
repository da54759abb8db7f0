#!/usr/bin/env node
// Image export benchmark, every figure measured in this one run on the same tree:
//   export to an OCI layout, gzip layers ÷ `tar --sort=name -C TREE . | gzip -6`   (target ≤ 1.0)
//   export to an OCI layout, zstd layers ÷ the same baseline                        (target ≤ 0.5)
// TREE is `ostree checkout` of the commit the export reads. The commit comes
// from composing the treefile (argument 1, default the trixie minimal one)
// with the cache dir in $APT_OSTREE_BENCH_CACHE (default: the root cache, so
// a warm machine does not download again). Needs root and the built CLI.
import {execFileSync, spawn} from 'node:child_process'
import {createWriteStream, mkdtempSync, rmSync, statSync} from 'node:fs'
import {once} from 'node:events'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const treefile = path.join(root, process.argv[2] ?? 'treefiles/debian-trixie-minimal.yaml')
const cache = process.env.APT_OSTREE_BENCH_CACHE ?? '/var/cache/apt-ostree'
const cli = path.join(root, 'bin/run.js')
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-bench-oci-'))
const timed = async (work) => {
  const start = process.hrtime.bigint()
  await work()
  return Number(process.hrtime.bigint() - start) / 1e9
}
const run = (command, args) => execFileSync(command, args, {cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: {...process.env, CI: 'true'}}).toString()

/** tar --sort=name -C TREE -cf - . | gzip -6 > FILE, without a shell. */
async function tarGzip(tree, file) {
  const tar = spawn('tar', ['--sort=name', '--xattrs', '-C', tree, '-cf', '-', '.'], {stdio: ['ignore', 'pipe', 'inherit']})
  const gzip = spawn('gzip', ['-6'], {stdio: ['pipe', 'pipe', 'inherit']})
  tar.stdout.pipe(gzip.stdin)
  gzip.stdout.pipe(createWriteStream(file))
  const [[tarCode], [gzipCode]] = await Promise.all([once(tar, 'close'), once(gzip, 'close')])
  if (tarCode !== 0 || gzipCode !== 0) throw new Error(`tar | gzip failed (${tarCode}, ${gzipCode})`)
}

try {
  console.error(`composing ${path.relative(root, treefile)} (cache ${cache})`)
  const composed = JSON.parse(run(cli, ['compose', 'tree', treefile, '--cachedir', cache, '--json']))
  const repo = path.join(cache, 'repo')
  const tree = path.join(work, 'tree')
  run('ostree', ['checkout', `--repo=${repo}`, composed.commit, tree])
  console.error('baseline: tar --sort=name | gzip -6')
  const baseline = await timed(() => tarGzip(tree, path.join(work, 'baseline.tar.gz')))
  const baselineBytes = statSync(path.join(work, 'baseline.tar.gz')).size
  const exportTo = (compression) => timed(async () => run(cli, ['compose', 'container-encapsulate', '--repo', repo, composed.commit, `oci:${path.join(work, compression)}`, '--compression', compression, '--cachedir', cache, '--quiet']))
  console.error('export, gzip layers')
  const gzip = await exportTo('gzip')
  console.error('export, zstd layers')
  const zstd = await exportTo('zstd')
  const du = (dir) => Number(run('du', ['-sb', path.join(work, dir, 'blobs')]).split('\t')[0])
  const report = {
    baselineSeconds: +baseline.toFixed(1),
    baselineMB: +(baselineBytes / 1e6).toFixed(1),
    gzipSeconds: +gzip.toFixed(1),
    gzipMB: +(du('gzip') / 1e6).toFixed(1),
    gzipRatio: +(gzip / baseline).toFixed(2),
    zstdSeconds: +zstd.toFixed(1),
    zstdMB: +(du('zstd') / 1e6).toFixed(1),
    zstdRatio: +(zstd / baseline).toFixed(2),
  }
  console.log(`tar --sort=name | gzip -6:   ${report.baselineSeconds} s, ${report.baselineMB} MB`)
  console.log(`export, gzip layers:         ${report.gzipSeconds} s, ${report.gzipMB} MB  ratio ${report.gzipRatio} (target ≤ 1.0)`)
  console.log(`export, zstd layers:         ${report.zstdSeconds} s, ${report.zstdMB} MB  ratio ${report.zstdRatio} (target ≤ 0.5)`)
  console.log(JSON.stringify(report))
} finally {
  rmSync(work, {recursive: true, force: true})
}
