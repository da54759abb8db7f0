import {existsSync, mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {InterruptedError, ToolError, UsageError} from '../../src/errors.js'
import {CommandLog} from '../../src/tools/exec.js'
import {parseCredentials, registryOf, skopeoCopy, skopeoRawManifest, type RegistryCredentials} from '../../src/tools/skopeo.js'
import {gzip, tarOf, writeLayout} from '../lint/oci-fixture.js'
import {REGISTRY_CREDENTIALS, startRegistry, type Registry} from '../helpers/registry.js'

// --creds must reach skopeo through nothing another user can read: not its
// argv (/proc/PID/cmdline is world-readable), not the command log, not an
// error message. The command log records every argv a tool is given, so a
// password that is in no log line was in no argv.
const credentials: RegistryCredentials = {...REGISTRY_CREDENTIALS}
const token = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')
let work: string
let layout: string
let registry: Registry

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'apt-ostree-skopeo-'))
  layout = path.join(work, 'layout')
  writeLayout(layout, [gzip(await tarOf([{name: 'hello', content: 'hello'}]))], 'v1')
  registry = await startRegistry({refuse: 'auth'})
})

afterAll(async () => {
  await registry?.stop()
  await rm(work, {recursive: true, force: true})
})

/** A command log under a fresh CACHEDIR/logs, as a workspace has it. */
function freshLog(): {log: CommandLog; logs: string} {
  const logs = path.join(work, `cache-${readdirSync(work).length}`, 'logs')
  mkdirSync(logs, {recursive: true})
  return {log: new CommandLog(path.join(logs, 'test.log')), logs}
}

/** Every log file's text. */
function logged(logs: string): string {
  return readdirSync(logs).map((name) => readFileSync(path.join(logs, name), 'utf8')).join('\n')
}

/** The auth files the logged skopeo commands were given. */
function authFiles(text: string): string[] {
  return [...text.matchAll(/ --(?:dest-)?authfile=(\S+)/g)].map((match) => match[1])
}

describe('--creds', () => {
  test('a push and an inspect with the right credentials succeed; the password is in no log line (so in no argv) and its auth file is gone', async () => {
    const {log, logs} = freshLog()
    const destination = `docker://${registry.host}/apt-ostree/creds:v1`
    const access = {tlsVerify: false, credentials}
    await skopeoCopy(`oci:${layout}:v1`, destination, access, {log})
    const manifest = JSON.parse(await skopeoRawManifest(destination, access, {log})) as {schemaVersion: number}
    await log.close()
    expect(manifest.schemaVersion).toBe(2)
    const text = logged(logs)
    expect(text).toContain('$ skopeo copy')
    expect(text).not.toContain(credentials.password)
    expect(text).not.toContain(token)
    const files = authFiles(text)
    expect(files).toHaveLength(2)
    for (const file of files) expect(existsSync(path.dirname(file))).toBe(false)
  })

  test('a refused push fails naming the command, with no password in the error or the log; its auth file is gone', async () => {
    const {log, logs} = freshLog()
    const wrong = {username: credentials.username, password: 'not-the-password-4711'}
    const error = await skopeoCopy(`oci:${layout}:v1`, `docker://${registry.host}/apt-ostree/creds:v1`, {tlsVerify: false, credentials: wrong}, {log}).catch((thrown: unknown) => thrown)
    await log.close()
    expect(error).toBeInstanceOf(ToolError)
    const shown = `${(error as ToolError).message}\n${(error as ToolError).details.join('\n')}`
    expect(shown).toMatch(/unauthorized|authentication required/)
    expect(shown).not.toContain(wrong.password)
    expect(logged(logs)).not.toContain(wrong.password)
    for (const file of authFiles(logged(logs))) expect(existsSync(path.dirname(file))).toBe(false)
  })

  test('an interrupted inspect leaves no auth file', async () => {
    const {log, logs} = freshLog()
    const controller = new AbortController()
    controller.abort('SIGINT')
    await expect(skopeoRawManifest(`docker://${registry.host}/apt-ostree/creds:v1`, {tlsVerify: false, credentials}, {log, signal: controller.signal})).rejects.toBeInstanceOf(InterruptedError)
    await log.close()
    const files = authFiles(logged(logs))
    expect(files).toHaveLength(1)
    expect(existsSync(path.dirname(files[0]))).toBe(false)
  })

  // A registry may say anything back, and skopeo prints what it says: this
  // one echoes the Authorization header it got, and what it decodes to.
  test('what a registry echoes of the credentials is hidden in the error and the log', async () => {
    const server: Server = createServer((request, response) => {
      const authorization = request.headers.authorization
      if (!authorization) {
        response.writeHead(401, {'WWW-Authenticate': 'Basic realm="echo"', 'Content-Type': 'application/json'})
        response.end(JSON.stringify({errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]}))
        return
      }
      const decoded = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString()
      response.writeHead(403, {'Content-Type': 'application/json'})
      response.end(JSON.stringify({errors: [{code: 'DENIED', message: `you sent ${authorization} (${decoded})`}]}))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const {log, logs} = freshLog()
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
      const error = await skopeoRawManifest(`docker://${host}/apt-ostree/echo:v1`, {tlsVerify: false, credentials}, {log}).catch((thrown: unknown) => thrown)
      await log.close()
      expect(error).toBeInstanceOf(ToolError)
      const shown = `${(error as ToolError).message}\n${(error as ToolError).details.join('\n')}`
      // The registry's answer did reach the message, with the secrets hidden.
      expect(shown).toContain(`you sent Basic *** (${credentials.username}:***)`)
      for (const text of [shown, logged(logs)]) {
        expect(text).not.toContain(credentials.password)
        expect(text).not.toContain(token)
      }
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('parseCredentials', () => {
  test('splits at the first colon, as skopeo does', () => {
    expect(parseCredentials('robot:pa:ss')).toEqual({username: 'robot', password: 'pa:ss'})
  })

  test.each(['robot', 'robot:', ':secret-only'])('%j is refused without being quoted', (text) => {
    const error = (() => {
      try {
        return parseCredentials(text)
      } catch (thrown) {
        return thrown
      }
    })()
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toBe('--creds: expected USERNAME:PASSWORD, both not empty')
  })
})

describe('registryOf', () => {
  test.each([
    ['docker://registry.example.com/debian/minimal:latest', 'registry.example.com'],
    ['docker://127.0.0.1:5000/a/b:c', '127.0.0.1:5000'],
    ['docker://localhost/a', 'localhost'],
    ['docker://debian:trixie', 'docker.io'],
    ['docker://library/debian', 'docker.io'],
    ['docker://index.docker.io/library/debian', 'docker.io'],
    ['oci:/tmp/layout:v1', undefined],
    ['containers-storage:localhost/a', undefined],
  ])('%s -> %s', (reference, registry) => {
    expect(registryOf(reference)).toBe(registry)
  })
})
