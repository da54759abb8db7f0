#!/usr/bin/env node
// Time of `compose validate` on the default treefile, as a ratio to the
// baseline `node -e 0` measured in the same run (target: under 6x).
// The median of several runs of each keeps one slow start from deciding.
import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import path from 'node:path'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const runs = Number(process.env.BENCH_RUNS ?? 9)

function median(command, args) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    execFileSync(command, args, {cwd: root, stdio: 'ignore'})
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]
}

const baseline = median('node', ['-e', '0'])
const validate = median('node', ['bin/run.js', 'compose', 'validate', 'treefiles/debian-trixie-minimal.yaml'])
const ratio = validate / baseline
console.log(`node -e 0:        ${baseline.toFixed(1)} ms (median of ${runs})`)
console.log(`compose validate: ${validate.toFixed(1)} ms (median of ${runs})`)
console.log(`ratio:            ${ratio.toFixed(2)}x (target < 6x)`)
