import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, test} from 'vitest'
import {fetchFailure, fetchText} from '../../src/archive/fetch.js'

// A server that goes silent must fail the fetch after the idle limit, not
// hang the compose: once before the headers, once in the middle of the body.
const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.on('close', () => server.closeAllConnections())
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/InRelease`
}

async function failure(url: string): Promise<string> {
  const error = await fetchText(url, new AbortController().signal, 200).then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(error).toBeDefined()
  return fetchFailure(error)
}

describe('fetchText', () => {
  test('reads what the server sends', async () => {
    const url = await serve((_request, response) => response.end('Suite: trixie\n'))
    expect(await fetchText(url, new AbortController().signal, 200)).toBe('Suite: trixie\n')
  })

  test('a server that never answers fails after the idle limit', async () => {
    const url = await serve(() => {})
    expect(await failure(url)).toBe('no answer for 0.2 s')
  })

  test('a server that stops in the middle of the body fails after the idle limit', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, {'content-length': '100'})
      response.write('Suite: ')
    })
    expect(await failure(url)).toBe('no answer for 0.2 s')
  })

  test('a closed port is ECONNREFUSED', async () => {
    const url = await serve(() => {})
    await new Promise((resolve) => servers.pop()!.close(resolve))
    expect(await failure(url)).toBe('ECONNREFUSED')
  })

  test('an HTTP error names its status', async () => {
    const url = await serve((_request, response) => {
      response.statusCode = 404
      response.end()
    })
    expect(await failure(url)).toBe('HTTP 404 Not Found')
  })
})
