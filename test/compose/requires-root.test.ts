import {execa} from 'execa'
import path from 'node:path'
import {expect, test} from 'vitest'
import {repoRoot} from '../helpers/cli.js'

// Composing and booting need root; as another user they refuse up front.
test.runIf(process.getuid?.() === 0).each([
  [['compose', 'tree', 'treefiles/debian-trixie-minimal.yaml', '--repo', '/nonexistent/repo'], 'compose tree needs root'],
  [['vm', 'boot', '--repo', '/nonexistent/repo', 'debian/13/amd64/minimal'], 'vm boot needs root'],
])('%j as nobody: a clear refusal, exit 2', async (args, message) => {
  const result = await execa('runuser', ['-u', 'nobody', '--', 'node', path.join(repoRoot, 'bin/run.js'), ...args, '--cachedir', '/nonexistent/cache'], {cwd: repoRoot, reject: false})
  expect(result.stderr.trim()).toBe(`${message} (mmdebstrap root mode, real file owners); run it as root or in a privileged container`)
  expect(result.exitCode).toBe(2)
})
