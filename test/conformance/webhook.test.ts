import { createHash } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import t from 'tap'
import { generateKey } from '../../src/client/keys.js'
import { projectPath } from '../../src/paths.js'
import { ttn } from '../helpers/cli.js'
import type { Teardown } from '../helpers/database.js'

const SERVICE_ID = 'ttn-central'
const PROVINCE = 'province-79'

/**
 * The contract with the webhooks section the service's notifications are described by:
 * a signed POST of a content notification to the province's webhook URL.
 */
async function contractWithWebhooks(folder: string): Promise<string> {
  const document = JSON.parse(await readFile(projectPath('openapi', 'openapi.json'), 'utf8'))
  document.components.schemas.ContentNotification = {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type', 'occurredAt', 'content'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      type: { type: 'string', enum: ['content.published', 'content.updated', 'content.withdrawn'] },
      occurredAt: { type: 'string', format: 'date-time' },
      content: { type: 'object', additionalProperties: false, required: ['id', 'title'], properties: { id: { type: 'string', format: 'uuid' }, title: { type: 'string', minLength: 1, maxLength: 200 } } },
    },
  }
  document.webhooks = {
    contentNotification: {
      post: {
        operationId: 'contentNotification',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ContentNotification' } } } },
        security: [{ callToken: [] }],
        responses: { 204: { description: 'Accepted.' }, 401: { description: 'Token refused.' } },
      },
    },
  }
  const file = join(folder, 'contract-with-webhooks.json')
  await writeFile(file, JSON.stringify(document))
  return file
}

type Check = 'replay' | 'body-hash'

/**
 * A provincial receiver that checks the call token the way the contract says, with jose;
 * `skip` leaves one check out to play a faulty receiver.
 */
async function receiver(t: Teardown, serviceJwks: JSONWebKeySet, skip?: Check): Promise<string> {
  const keys = createLocalJWKSet(serviceJwks)
  const seen = new Set<string>()
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks)
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
        if (!token) throw new Error('token missing')
        const { payload } = await jwtVerify(token, keys, {
          typ: 'ttn-call+jwt', algorithms: ['ES256', 'EdDSA'], issuer: SERVICE_ID, audience: PROVINCE, maxTokenAge: 300, requiredClaims: ['jti', 'iat', 'exp'],
        })
        if (payload.exp! - payload.iat! > 300) throw new Error('token lifetime over 300 s')
        if (payload.htm !== request.method || payload.htu !== request.url) throw new Error('token for another request')
        if (skip !== 'body-hash' && payload.bsh !== createHash('sha256').update(body).digest('base64url')) throw new Error('body hash mismatch')
        if (skip !== 'replay') {
          if (seen.has(payload.jti!)) throw new Error('token replayed')
          seen.add(payload.jti!)
        }
        response.writeHead(204).end()
      })().catch((error: Error) => {
        response.writeHead(401, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ title: error.message, status: 401 }))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/ttn?tenant=79`
}

async function setup() {
  const folder = await mkdtemp(join(tmpdir(), 'ttn-webhook-'))
  const { privateJwk, publicJwk } = await generateKey()
  const keyFile = join(folder, 'service.jwk.json')
  await writeFile(keyFile, JSON.stringify(privateJwk))
  return { folder, keyFile, jwks: { keys: [publicJwk] }, contract: await contractWithWebhooks(folder) }
}

const kit = (url: string, keyFile: string, contract: string, junit?: string) => ttn([
  'conformance', '--webhook', url, '--service-id', SERVICE_ID, '--key', keyFile, '--system-id', PROVINCE,
  '--contract', contract, '--seed', '5', '--runs', '5', ...(junit ? ['--junit', junit] : []),
])

t.test('a receiver that checks every claim passes', async (t) => {
  const { folder, keyFile, jwks, contract } = await setup()
  const junit = join(folder, 'webhook.xml')
  const result = await kit(await receiver(t, jwks), keyFile, contract, junit)
  t.equal(result.code, 0, result.stdout + result.stderr)
  for (const check of ['valid', 'replayed', 'forged', 'expired', 'wrong-audience', 'body-tampered', 'token-missing']) {
    t.match(result.stdout, new RegExp(`pass webhook:${check}: 1 operations passed`))
  }
  t.match(await readFile(junit, 'utf8'), /<testsuites [^>]*failures="0"/)
})

t.test('a receiver that accepts a replayed notification fails, naming the check', async (t) => {
  const { keyFile, jwks, contract } = await setup()
  const result = await kit(await receiver(t, jwks, 'replay'), keyFile, contract)
  t.equal(result.code, 1)
  t.match(result.stdout, /FAIL webhook:replayed contentNotification: a notification whose token was already used must be refused with a 4xx, got 204/)
  t.match(result.stdout, /pass webhook:forged/)
})

t.test('a receiver that does not check the body hash fails, naming the check', async (t) => {
  const { keyFile, jwks, contract } = await setup()
  const result = await kit(await receiver(t, jwks, 'body-hash'), keyFile, contract)
  t.equal(result.code, 1)
  t.match(result.stdout, /FAIL webhook:body-tampered contentNotification/)
})

t.test('a contract without webhooks is an error', async (t) => {
  const { keyFile } = await setup()
  const result = await kit('http://127.0.0.1:9/hooks', keyFile, projectPath('openapi', 'openapi.json'))
  t.equal(result.code, 1)
  t.match(result.stderr, /the contract declares no webhooks/)
})

t.test('the command takes exactly one of --target and --webhook', async (t) => {
  const result = await ttn(['conformance', '--system-id', PROVINCE, '--key', 'unused.json'])
  t.equal(result.code, 1)
  t.match(result.stderr, /give exactly one of --target URL or --webhook URL/)
})
