import path from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {repoRoot} from '../helpers/cli.js'

// The script's refusals, before it touches podman or the network (the build
// itself is tested in test/container-image/tool-image.int.test.ts).
const script = path.join(repoRoot, 'scripts/make-base-image.sh')

describe('scripts/make-base-image.sh', () => {
  it('refuses an unknown option with one line and exit 2', async () => {
    const result = await execa(script, ['--bogus'], {reject: false})
    expect(result.stderr).toBe('make-base-image: unknown option --bogus')
    expect(result.exitCode).toBe(2)
  })

  it('--help prints its usage', async () => {
    const result = await execa(script, ['--help'], {reject: false})
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('Usage: scripts/make-base-image.sh [--force] [IMAGE]')
  })
})
