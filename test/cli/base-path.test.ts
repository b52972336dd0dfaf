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
import { prefixGateway } from '../helpers/gateway.js'
import { sha256Hex, wav } from '../helpers/media.js'

const PREFIX = '/ttn'
const dir = await mkdtemp(join(tmpdir(), 'ttn-cli-base-path-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const { app, database } = await buildTestApp(t, { env: { PUBLIC_BASE_PATH: PREFIX } })
const gatewayUrl = await prefixGateway(t, await app.listen({ port: 0, host: '127.0.0.1' }), PREFIX)

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

t.test('the links the service writes lead back through the gateway', async (t) => {
  const signedFetch = async (method: string, path: string, body?: unknown) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const token = await signCall({ issuer: 'central-portal', audience: 'ttn-central', key, method, pathAndQuery: `${PREFIX}${path}`, body: payload })
    return fetch(`${gatewayUrl}${path}`, { method, body: payload, redirect: 'manual', headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) } })
  }
  const front = await fetch(`${gatewayUrl}/`, { redirect: 'manual' })
  t.equal(front.headers.get('location'), `${PREFIX}/docs`, '/ leads to the docs under the prefix')
  t.equal((await fetch(new URL(front.headers.get('location')!, gatewayUrl))).status, 200, 'and the gateway serves them there')

  const audio = wav(0.2)
  const opened = await signedFetch('POST', '/v2/media/uploads', { bytes: audio.length, sha256: sha256Hex(audio) })
  t.equal(opened.status, 201)
  const { upload } = await opened.json() as { upload: { id: string } }
  t.equal(opened.headers.get('location'), `${PREFIX}/v2/media/uploads/${upload.id}`, 'an upload\'s Location')

  const client = new TtnClient({ baseUrl: `${gatewayUrl}/`, systemId: 'central-portal', key })
  const stored = await client.uploadMedia(audio, { fileName: 'canh-bao.wav' })
  const { content } = await client.publishContent({ title: 'Cảnh báo lũ', topic: 'disasters-fire-epidemics', priority: 'emergency', targets: ['79'], media: [{ sha256: stored.sha256 }] })
  const feed = await (await signedFetch('GET', '/v2/cap/alerts')).text()
  t.match(feed, `<link rel="self" href="${PREFIX}/v2/cap/alerts"/>`, 'the feed\'s own link')
  t.match(feed, `href="${PREFIX}/v2/contents/${content.id}/cap"`, 'each entry\'s link to its alert')
  t.match(feed, `<uri>${PREFIX}/v2/media/${stored.sha256}</uri>`, 'a stored file of an alert')
})
