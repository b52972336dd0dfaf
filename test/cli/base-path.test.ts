import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import t from 'tap'
import type { PublicJwk } from '../../schemas/trust.js'
import { TtnClient } from '../../src/client/client.js'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import { signCall } from '../../src/client/sign.js'
import { SystemsStore } from '../../src/modules/systems/store.js'
import { buildTestApp } from '../helpers/app.js'
import { ttn } from '../helpers/cli.js'
import { sha256Hex, wav } from '../helpers/media.js'

const PREFIX = '/ttn'
const dir = await mkdtemp(join(tmpdir(), 'ttn-cli-base-path-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const { app, database } = await buildTestApp(t, { env: { PUBLIC_BASE_PATH: PREFIX } })
const service = new URL(await app.listen({ port: 0, host: '127.0.0.1' }))

/** A gateway in front of the service: it answers under PREFIX only and forwards the rest of the path, headers and body as they came. */
const gateway = http.createServer((request, reply) => {
  if (!request.url!.startsWith(`${PREFIX}/`)) return void reply.writeHead(404).end()
  const forward = http.request({ host: service.hostname, port: service.port, method: request.method, path: request.url!.slice(PREFIX.length), headers: request.headers }, (answer) => {
    reply.writeHead(answer.statusCode!, answer.headers)
    answer.pipe(reply)
  })
  forward.on('error', () => reply.destroy())
  request.pipe(forward)
})
await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise((resolve) => gateway.close(resolve)))
const gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}${PREFIX}`

const { privateJwk, publicJwk } = await generateKey()
await new SystemsStore(database.db).register({ id: 'central-portal', role: 'central', name: 'Cổng trung ương', jwks: { keys: [publicJwk as PublicJwk] } }, database.db)
const key = await importSigningKey(privateJwk)
const keyFile = join(dir, 'central.jwk.json')
await writeFile(keyFile, JSON.stringify(privateJwk))
const env = { TTN_URL: gatewayUrl, TTN_SYSTEM_ID: 'central-portal', TTN_KEY_FILE: keyFile }

t.test('through a gateway that strips the base path, the client signs the path it sends and the service accepts it', async (t) => {
  const client = new TtnClient({ baseUrl: `${gatewayUrl}/`, systemId: 'central-portal', key })
  const { items } = await client.reportPeriods(2030)
  t.ok(items.length > 0, 'a signed read')
  const audio = wav(0.3)
  const upload = await client.uploadMedia(audio, { fileName: 'thu.wav' })
  t.equal(upload.sha256, sha256Hex(audio), 'a signed upload of raw chunks')
  const { content, receipt } = await client.publishContent({ title: 'Thông báo', topic: 'disasters-fire-epidemics', priority: 'normal', targets: ['79'], media: [{ sha256: upload.sha256 }] })
  t.equal((decodeJwt(receipt.jws) as { req: { htu: string } }).req.htu, `${PREFIX}/v2/contents`, 'the receipt attests the path as the caller sent it')

  const listed = await ttn(['content', 'list', '--json'], env)
  t.equal(listed.code, 0, listed.stderr)
  t.same((JSON.parse(listed.stdout) as { id: string }[]).map((item) => item.id), [content.id], 'ttn --url with a path')
  const missing = await ttn(['content', 'get', '5e0a7c3f-9b2d-4f18-a6e4-1c8d3b9f2a71'], env)
  t.match(missing.stderr, `ttn: GET ${gatewayUrl}/v2/contents/5e0a7c3f-9b2d-4f18-a6e4-1c8d3b9f2a71: 404 not-found: `, 'a failure names the URL as called')
})

t.test('a token signed for another path than the one sent through the gateway is refused', async (t) => {
  const call = async (signedPath: string) => {
    const token = await signCall({ issuer: 'central-portal', audience: 'ttn-central', key, method: 'GET', pathAndQuery: signedPath })
    const answer = await fetch(`${gatewayUrl}/v2/systems/central-portal`, { headers: { authorization: `Bearer ${token}` } })
    return { status: answer.status, body: await answer.json() as { code?: string, detail?: string } }
  }
  t.equal((await call(`${PREFIX}/v2/systems/central-portal`)).status, 200, 'signed as sent')
  const bare = await call('/v2/systems/central-portal')
  t.match(bare, { status: 401, body: { code: 'path-mismatch', detail: /\/ttn\/v2\/systems\/central-portal$/ } }, 'the path the service sees, without the prefix')
  t.match(await call('/other/v2/systems/central-portal'), { status: 401, body: { code: 'path-mismatch' } }, 'another prefix')
  t.match(await call(`${PREFIX}/v2/systems/province-79`), { status: 401, body: { code: 'path-mismatch' } }, 'another path under the prefix')
})

t.test('the contract names the base path in its servers', async (t) => {
  const contract = await (await fetch(`${gatewayUrl}/openapi.json`)).json() as { servers: { url: string }[] }
  t.same(contract.servers.map((server) => server.url), [PREFIX, `{origin}${PREFIX}`])
})
