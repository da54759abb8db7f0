import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {runSourceCli} from '../helpers/cli.js'
import {outputSchemaErrors} from '../helpers/output-schema.js'
import {writePassingFixture} from '../lint/fixture.js'

// --json prints one document on stdout, valid against its schema in
// schemas/output/, for results and for errors alike. (compose tree and vm
// boot results are checked where the integration tests run them.)
const work = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-json-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))

const json = async (args: string[]): Promise<{exitCode: number; document: unknown}> => {
  const result = await runSourceCli([...args, '--json'])
  return {exitCode: result.exitCode, document: JSON.parse(result.stdout)}
}

describe('--json documents match schemas/output', () => {
  it.each([
    [['compose', 'validate', 'treefiles/debian-trixie-minimal.yaml'], 'compose-validate', 0],
    [['compose', 'validate', 'test/fixtures/invalid/add-files-destination-dotdot/treefile.yaml'], 'compose-validate', 2],
    [['container', 'lint', '--list'], 'container-lint', 0],
    [['container', 'lint', '/nonexistent/rootfs'], 'container-lint', 2],
    [['vm', 'boot', '/nonexistent/disk.qcow2'], 'vm-boot', 1],
    [['compose', 'diff', '--repo', '/nonexistent/repo', 'a', 'b'], 'compose-diff', 1],
    [['compose', 'tree', 'treefiles/debian-trixie-minimal.yaml', '--container'], 'compose-tree', 2],
  ] as const)('%j', async (args, schema, exitCode) => {
    const {exitCode: code, document} = await json([...args])
    expect(outputSchemaErrors(schema, document)).toEqual([])
    expect(code).toBe(exitCode)
  })

  it('container lint of a rootfs', async () => {
    writePassingFixture(work)
    const {exitCode, document} = await json(['container', 'lint', work])
    expect(outputSchemaErrors('container-lint', document)).toEqual([])
    expect(exitCode).toBe(0)
  })
})
