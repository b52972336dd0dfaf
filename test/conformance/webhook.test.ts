import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JSONWebKeySet } from 'jose'
import t from 'tap'
import { generateKey } from '../../src/client/keys.js'
import { projectPath } from '../../src/paths.js'
import { ttn } from '../helpers/cli.js'
import { Receiver } from '../helpers/receiver.js'

const SERVICE_ID = 'ttn-central'
const PROVINCE = 'province-79'

const contract = projectPath('openapi', 'openapi.json')

/** The service's key, as the kit signs with it, and its public set, as a receiver trusts it. */
async function setup() {
  const folder = await mkdtemp(join(tmpdir(), 'ttn-webhook-'))
  const { privateJwk, publicJwk } = await generateKey()
  const keyFile = join(folder, 'service.jwk.json')
  await writeFile(keyFile, JSON.stringify(privateJwk))
  return { folder, keyFile, trust: { serviceId: SERVICE_ID, systemId: PROVINCE, keys: { keys: [publicJwk] } as JSONWebKeySet } }
}

const kit = (url: string, keyFile: string, contract: string, junit?: string) => ttn([
  'conformance', '--webhook', url, '--service-id', SERVICE_ID, '--key', keyFile, '--system-id', PROVINCE,
  '--contract', contract, '--seed', '5', '--runs', '5', ...(junit ? ['--junit', junit] : []),
])

t.test('a receiver built on verifyServiceCall() passes every check of the contract\'s webhooks', async (t) => {
  const { folder, keyFile, trust } = await setup()
  const junit = join(folder, 'webhook.xml')
  const result = await kit((await new Receiver(trust).start(t)).url, keyFile, contract, junit)
  t.equal(result.code, 0, result.stdout + result.stderr)
  for (const check of ['valid', 'replayed', 'forged', 'expired', 'wrong-audience', 'body-tampered', 'token-missing']) {
    // Every webhook of the contract: content notifications and key-recovery notices.
    t.match(result.stdout, new RegExp(`pass webhook:${check}: 2 operations passed`))
  }
  t.match(await readFile(junit, 'utf8'), /<testsuites [^>]*failures="0"/)
})

t.test('a receiver that accepts a replayed notification fails, naming the check', async (t) => {
  const { keyFile, trust } = await setup()
  const forgetful = new Receiver({ ...trust, replayGuard: { claim: () => true } })
  const result = await kit((await forgetful.start(t)).url, keyFile, contract)
  t.equal(result.code, 1)
  t.match(result.stdout, /FAIL webhook:replayed receiveContentNotification: a notification whose token was already used must be refused with a 4xx, got 200/)
  t.match(result.stdout, /pass webhook:forged/)
})

t.test('a receiver that does not check the token fails, naming the checks', async (t) => {
  const { keyFile } = await setup()
  const server = http.createServer((request, response) => request.resume().on('end', () => response.writeHead(204).end()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const result = await kit(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, keyFile, contract)
  t.equal(result.code, 1)
  for (const check of ['forged', 'expired', 'wrong-audience', 'body-tampered', 'token-missing']) t.match(result.stdout, new RegExp(`FAIL webhook:${check} receiveContentNotification`))
})

t.test('a contract without webhooks is an error', async (t) => {
  const { folder, keyFile } = await setup()
  const withoutWebhooks = join(folder, 'no-webhooks.json')
  const { webhooks: _, ...document } = JSON.parse(await readFile(contract, 'utf8'))
  await writeFile(withoutWebhooks, JSON.stringify(document))
  const result = await kit('http://127.0.0.1:9/hooks', keyFile, withoutWebhooks)
  t.equal(result.code, 1)
  t.match(result.stderr, /the contract declares no webhooks/)
})

t.test('the command takes exactly one of --target and --webhook', async (t) => {
  const result = await ttn(['conformance', '--system-id', PROVINCE, '--key', 'unused.json'])
  t.equal(result.code, 1)
  t.match(result.stderr, /give exactly one of --target URL or --webhook URL/)
})
