/**
 * `npm run demo`: the service on a fresh embedded database, three provinces pushing a day of
 * registry, device status, broadcast logs and a report, central publishing an emergency
 * bulletin that one province receives by signed webhook and the others from their feed; then
 * the national summary. Every call goes through the typed client, signed, as a province's
 * system would make it. The service keeps running for a look at /docs until Ctrl+C
 * (`--exit` stops it at the end).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../app.js'
import { ephemeralServiceKeys } from '../auth/service-keys.js'
import { summaryTable } from '../cli/tables.js'
import { TtnClient } from '../client/client.js'
import { generateKey, importSigningKey } from '../client/keys.js'
import { verifyServiceCall } from '../client/service-call.js'
import { loadConfig } from '../config.js'
import { openEmbedded } from '../db/database.js'
import { usableImage } from '../db/embedded-image.js'
import { migrateToLatest } from '../db/migrator.js'
import { SystemsStore } from '../modules/systems/store.js'
import { DEMO_PROVINCES, playDemoDay } from './day.js'

const say = (line: string) => process.stdout.write(line + '\n')

async function main() {
  const keepRunning = !process.argv.includes('--exit')
  const dataDir = await mkdtemp(join(tmpdir(), 'ttn-demo-'))
  const keysDir = join(dataDir, 'keys')
  const config = loadConfig({ ...process.env, DATABASE_URL: undefined, DATA_DIR: dataDir, PORT: process.env.PORT ?? '8080', LOG_LEVEL: 'warn', WEBHOOK_POLL_MS: '200',
    // The demo's province receives its webhook on this machine: the one host it may call over plain http.
    OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' })

  say('ttn-interop demo: the service on an embedded database in ' + dataDir)
  const database = await openEmbedded({ dataDir: join(dataDir, 'db'), freshImage: () => usableImage() })
  await migrateToLatest(database.db)
  const serviceKeys = await ephemeralServiceKeys()

  // The systems: central's portal and three provinces, each with its own key pair.
  const systems = new SystemsStore(database.db)
  const keyOf = new Map<string, Awaited<ReturnType<typeof importSigningKey>>>()
  const register = async (id: string, role: 'central' | 'province', name: string, provinceCode?: string, webhookUrl?: string) => {
    const { privateJwk, publicJwk } = await generateKey()
    await mkdir(join(keysDir, id), { recursive: true })
    await writeFile(join(keysDir, id, 'private.jwk.json'), JSON.stringify(privateJwk, null, 2), { mode: 0o600 })
    keyOf.set(id, await importSigningKey(privateJwk))
    await systems.register({ id, role, name, jwks: { keys: [publicJwk as never] }, ...(provinceCode ? { provinceCode } : {}), ...(webhookUrl ? { webhookUrl } : {}) }, database.db)
  }

  // Province 79 receives notifications by webhook and verifies each with verifyServiceCall().
  const received: string[] = []
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      verifyServiceCall({ method: req.method!, url: req.url!, headers: req.headers, body },
        { serviceId: config.SERVICE_ID, systemId: 'province-79', keys: serviceKeys.jwks as never })
        .then(() => {
          const note = JSON.parse(body.toString('utf8')) as { type: string, content: { title: string, priority: string } }
          received.push(note.content.title)
          say(`  province-79's receiver: verified ${note.type} "${note.content.title}" (${note.content.priority})`)
          res.writeHead(204).end()
        })
        .catch((error: Error) => res.writeHead(401).end(error.message))
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ttn/notifications`

  await register('central-portal', 'central', 'Cổng thông tin nguồn trung ương')
  for (const p of DEMO_PROVINCES) await register(`province-${p.code}`, 'province', `HTTTN ${p.name}`, p.code, p.code === '79' ? webhook : undefined)

  const app = await buildApp({ config, database, serviceKeys })
  const url = await app.listen({ port: config.PORT, host: config.HOST }).catch(() => app.listen({ port: 0, host: config.HOST }))
  say(`service listening on ${url}; contract at ${url}/openapi.json, docs at ${url}/docs\n`)
  const client = (id: string) => new TtnClient({ baseUrl: url, systemId: id, key: keyOf.get(id)! })
  const central = client('central-portal')

  const bulletinId = await playDemoDay({ client, centralId: 'central-portal', say })

  for (let waited = 0; received.length === 0 && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
  const reach = await central.contentReach(bulletinId)
  say(`\nreach of the bulletin: ${reach.provincesDelivered} of ${reach.provincesTargeted} provinces by webhook, ${reach.provincesAcknowledged} acknowledged, played on ${reach.stationsPlayed} stations`)

  say('\nthe national summary, as central reads it:\n')
  process.stdout.write(summaryTable(await central.nationalSummary()))
  const stop = async () => {
    await app.close()
    receiver.close()
    await database.close()
    await rm(dataDir, { recursive: true, force: true })
  }
  // The demo's keys go with its data: a command using them is offered only while they and the service are there.
  if (!keepRunning) {
    say('\nthe demo stopped and removed its data and keys; `npm run demo` without --exit keeps the service running to call it, ' +
      'and `npx ttn init` writes a setup of your own to call `npm start` with.')
    return stop()
  }
  say(`\nlook in ${url}/docs: "summaries" (GET /v2/summaries/national, also as CSV with ?format=csv), "content", "status", "registry".`)
  say(`every /v2 call needs a signed call token; the demo's keys are in ${keysDir}, for example:`)
  say(`  npm run --silent ttn -- summary --url ${url} --system-id central-portal --key ${join(keysDir, 'central-portal', 'private.jwk.json')} --csv`)
  say('\nthe service keeps running; Ctrl+C stops it and removes the demo data.')
  const onSignal = () => void stop().then(() => process.exit(0))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
