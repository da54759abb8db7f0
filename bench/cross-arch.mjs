#!/usr/bin/env node
// Cross-architecture benchmark, every figure measured in this one run on this
// machine:
//   arm64 cold compose ÷ amd64 cold compose of the same treefile   (target ≤ 3)
//   the arm64 commit's boot under software emulation (vm boot: seconds to its target)
// Each compose starts from an empty cache dir (so both download their .debs);
// the arm64 one runs the tree's programs through qemu-user. Needs root, the
// built CLI (npm run build), qemu-user-static registered with binfmt_misc
// (scripts/install-deps.sh does it), and qemu-system-arm with qemu-efi-aarch64
// for the boot. Takes a long time: the boot alone is minutes under TCG.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const treefile = path.join(root, process.argv[2] ?? 'treefiles/debian-trixie-minimal.yaml')
const cli = path.join(root, 'bin/run.js')
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-bench-arch-'))

const timed = (args) => {
  const start = process.hrtime.bigint()
  const stdout = execFileSync(cli, args, {cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: {...process.env, CI: 'true'}}).toString()
  return {seconds: Number(process.hrtime.bigint() - start) / 1e9, stdout}
}
// vm boot exits 1 when the machine fails; its --json report says how.
const bootReport = (args) => {
  try {
    return JSON.parse(timed(args).stdout)
  } catch (error) {
    if (error.stdout?.length) return JSON.parse(error.stdout.toString())
    throw error
  }
}

try {
  const compose = (arch) => {
    console.error(`cold compose, ${arch} (empty cache)`)
    const {seconds, stdout} = timed(['compose', 'tree', treefile, '--arch', arch, '--repo', path.join(work, 'repo'), '--cachedir', path.join(work, `cache-${arch}`), '--json', '--quiet'])
    const {ref, timings} = JSON.parse(stdout)
    console.error(`  ${ref}: ${Object.entries(timings).map(([stage, time]) => `${stage} ${time} s`).join(', ')}`)
    return {seconds, ref}
  }
  const amd64 = compose('amd64')
  const arm64 = compose('arm64')
  console.error('vm boot of the arm64 commit')
  const boot = bootReport(['vm', 'boot', '--repo', path.join(work, 'repo'), arm64.ref, '--cachedir', path.join(work, 'cache-arm64'), '--timeout', '3600', '--json'])
  const figures = {
    amd64ColdSeconds: +amd64.seconds.toFixed(1),
    arm64ColdSeconds: +arm64.seconds.toFixed(1),
    arm64Ratio: +(arm64.seconds / amd64.seconds).toFixed(2),
    arm64BootReached: boot.reached,
    arm64BootSeconds: boot.seconds,
    arm64FailedUnits: boot.failedUnits,
  }
  console.log(`amd64 cold compose:  ${figures.amd64ColdSeconds} s`)
  console.log(`arm64 cold compose:  ${figures.arm64ColdSeconds} s  ratio ${figures.arm64Ratio} (target ≤ 3)`)
  console.log(`arm64 boot (TCG):    ${figures.arm64BootReached ? `${figures.arm64BootSeconds} s to its target` : 'did not reach its target'}, failed units: ${figures.arm64FailedUnits.length ? figures.arm64FailedUnits.join('; ') : 'none'}`)
  console.log(JSON.stringify(figures))
} finally {
  rmSync(work, {recursive: true, force: true})
}
