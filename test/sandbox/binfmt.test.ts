import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, test} from 'vitest'
import {architectureNamed, hostArchitecture} from '../../src/arch.js'
import {foreignExecutionProblem} from '../../src/sandbox/binfmt.js'
import {probeTool} from '../../src/tools/host.js'
import {foreignTools} from '../../src/tools/table.js'

// binfmt_misc as the kernel shows it, in a directory of the test's own: the
// entry of qemu-user-static's registration (Debian's flags are POF), and
// the ways it can be unfit for the sandbox.
const foreign = hostArchitecture().debian === 'arm64' ? 'amd64' : 'arm64'
const qemu = architectureNamed(foreign).qemuUser!
const root = mkdtempSync(path.join(os.tmpdir(), 'apt-ostree-binfmt-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))

function binfmtMisc(name: string, entry?: string): string {
  const directory = path.join(root, name)
  mkdirSync(directory)
  writeFileSync(path.join(directory, 'status'), 'enabled\n')
  if (entry !== undefined) writeFileSync(path.join(directory, qemu), entry)
  return directory
}

const entry = (state: string, flags: string): string => `${state}\ninterpreter /usr/libexec/qemu-binfmt/${qemu}-binfmt-P\nflags: ${flags}\noffset 0\nmagic 7f454c46\n`
const toolsHere = (await Promise.all(foreignTools(architectureNamed(foreign)).map(probeTool))).every((probe) => probe.found)

describe('foreignExecutionProblem', () => {
  test("the host's own architecture needs nothing", async () => {
    expect(await foreignExecutionProblem(hostArchitecture().debian, path.join(root, 'none'))).toBeUndefined()
  })

  test.runIf(toolsHere)(`${foreign} through ${qemu} registered with the F flag: nothing missing`, async () => {
    expect(await foreignExecutionProblem(foreign, binfmtMisc('fixed', entry('enabled', 'POF')))).toBeUndefined()
  })

  test.runIf(toolsHere).each([
    ['binfmt_misc not mounted', undefined, /, and binfmt_misc is not mounted \(mount -t binfmt_misc binfmt_misc .*\)$/],
    ['no entry', '', new RegExp(`, and ${qemu} is not registered with binfmt_misc \\(/usr/lib/systemd/systemd-binfmt /usr/lib/binfmt.d/${qemu}.conf\\)$`)],
    ['a disabled entry', entry('disabled', 'POF'), /is disabled \(echo 1 > .*\)$/],
    ['an entry without F', entry('enabled', 'P'), /has no F flag: the sandbox cannot reach its interpreter/],
  ])('%s: the reason and the fix, on one line', async (name, content, expected) => {
    const directory = content === undefined ? path.join(root, 'unmounted') : binfmtMisc(name.replaceAll(' ', '-'), content === '' ? undefined : content)
    const problem = await foreignExecutionProblem(foreign, directory)
    expect(problem).toMatch(new RegExp(`^a ${foreign} tree runs through qemu-user on this host`))
    expect(problem).toMatch(expected)
    expect(problem).not.toContain('\n')
  })
})
