#!/usr/bin/env node
// The example pipeline (.gitea/workflows/build-image.yml) run locally by
// scripts/run-workflow.mjs (its image and publish jobs, amd64), twice,
// against a local registry:
//   first run (cold caches: compose, lint, boot, push)
//   nightly rerun with nothing changed                    (target < 30 s)
//   nightly ÷ first run
// Needs root, the host tools (scripts/install-deps.sh) and network to the
// Debian archive and the npm registry (the pipeline's own `npm ci`).
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const treefile = process.argv[2] ?? 'debian-trixie-minimal'
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-bench-pipeline-'))

const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const {port} = server.address()
    server.close(() => resolve(port))
  })
})

const port = await freePort()
const config = path.join(work, 'registry.yml')
writeFileSync(config, `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${path.join(work, 'registry')}}}\nhttp: {addr: 127.0.0.1:${port}}\n`)
const registry = spawn('/usr/bin/docker-registry', ['serve', config], {stdio: 'ignore'})
// Both jobs for amd64, in the order needs: gives them: image, then publish (an index of amd64 alone).
const jobs = [['--job', 'image', '--matrix', 'arch=amd64'], ['--job', 'publish', '--env', 'ARCHITECTURES=amd64']]
const seconds = (event) => {
  const start = process.hrtime.bigint()
  for (const job of jobs) {
    execFileSync('node', [
      'scripts/run-workflow.mjs', '.gitea/workflows/build-image.yml', ...job, '--matrix', `treefile=${treefile}`, '--event', event,
      '--workspace', path.join(work, 'workspace'), '--env', `STATE_DIR=${path.join(work, 'state')}`,
      '--var', `REGISTRY=127.0.0.1:${port}`, '--var', 'REGISTRY_TLS_VERIFY=false', '--secret', 'REGISTRY_USER=bench', '--secret', 'REGISTRY_PASSWORD=bench',
    ], {cwd: root, stdio: ['ignore', 'ignore', 'inherit']})
  }
  return Number(process.hrtime.bigint() - start) / 1e9
}

try {
  await sleep(1000)
  console.error(`build-image.yml (${treefile}): first run`)
  const first = seconds('push')
  console.error('nightly rerun, nothing changed')
  const nightly = seconds('schedule')
  console.log(`pipeline, first run:           ${first.toFixed(1)} s`)
  console.log(`pipeline, nightly no-op:       ${nightly.toFixed(1)} s  (target < 30 s)  ratio ${(nightly / first).toFixed(3)} of the first run`)
} finally {
  registry.kill()
  rmSync(work, {recursive: true, force: true})
}
