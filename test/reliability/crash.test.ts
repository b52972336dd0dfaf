import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { generateKey, importSigningKey, type SigningKey } from '../../src/client/keys.js'
import { signCall } from '../../src/client/sign.js'
import { generatedKeyFile, readServiceKeys } from '../../src/auth/service-keys.js'
import { verifyAuditLog } from '../../src/modules/audit/verify.js'
import { serverUrl, testDatabase } from '../helpers/database.js'
import { until } from '../helpers/receiver.js'
import { freePort, startService, type ServiceProcess } from '../helpers/service.js'

const indicators = (bulletinBoards: number) => ({
  stations: { wired: 0, fm: 0, wiredFm: 0, ip: 0 }, clusters: { ip: 0, fm: 0, wired: 0 },
  investment: { newStations: 0, clustersReplaced: 0, clustersAddedToVillages: 0 }, bulletinBoards,
  informationWorkers: { total: 0, trained: 0 }, bulletins: { produced: 0, aired: 0, airtimeHours: 0 },
  fundingMillionVnd: { newRuralDevelopment: 0, sustainablePovertyReduction: 0, localBudget: 0, other: 0 },
})

// Longer than the suite's per-file limit: the file asks the runner for the time its one test may take.
t.setTimeout(600_000)

t.test('under 20 SIGKILLs, writes acknowledged survive, retries duplicate nothing, and every receipt has its audit entry in a log that verifies', { timeout: 600_000, skip: serverUrl ? false : 'needs TEST_DATABASE_URL: the embedded database is for one process, not for crash tests' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ttn-crash-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const database = await testDatabase(t)
  const provinces = ['01', '31', '48', '79']
  const keys = new Map<string, SigningKey>()
  const systems = []
  for (const code of provinces) {
    const { privateJwk, publicJwk } = await generateKey()
    keys.set(code, await importSigningKey(privateJwk))
    systems.push({ id: `province-${code}`, role: 'province', provinceCode: code, name: code, jwks: { keys: [publicJwk] } })
  }
  await writeFile(join(dir, 'systems.json'), JSON.stringify(systems))
  const port = await freePort()
  // Sealing every 100 ms puts kills in the middle of sealing rounds too.
  const env = { DATABASE_URL: database.url!, DATA_DIR: dir, SYSTEMS_FILE: join(dir, 'systems.json'), PORT: String(port), AUDIT_SEAL_INTERVAL_MS: '100' }
  const start = () => startService(t, env)
  let service: ServiceProcess = await start()

  const KILLS = 20
  let killing = true
  const stats = { requests: 0, failures: 0, answersLost: 0, acknowledged: [] as { receipt: string, province: string, value: number }[] }
  const written = new Map<string, number>()
  const clients = provinces.map(async (code) => {
    for (let value = 0; killing; value++) {
      written.set(code, value + 1)
      const path = `/v2/provinces/${code}/reports/2030-H1/indicators`
      const body = JSON.stringify(indicators(value))
      for (;;) {
        stats.requests++
        try {
          const token = await signCall({ issuer: `province-${code}`, audience: 'ttn-central', key: keys.get(code)!, method: 'PUT', pathAndQuery: path, body })
          const response = await request(`http://127.0.0.1:${port}${path}`, {
            method: 'PUT', body, headersTimeout: 5000, bodyTimeout: 5000,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `crash-${code}-${value}` },
          })
          const answer = await response.body.json() as { receipt?: { id: string }, code?: string, receiptId?: string }
          if (response.statusCode === 201 || (answer.code === 'idempotency-answer-lost' || answer.code === 'idempotency-key-in-flight') && answer.receiptId) {
            stats.acknowledged.push({ receipt: answer.receipt?.id ?? answer.receiptId!, province: code, value })
            if (answer.code) stats.answersLost++
            break
          }
          t.not(response.statusCode, 500, 'never a 500')
          stats.failures++
        } catch {
          stats.failures++
        }
        await sleep(50)
      }
    }
  })

  const kills: number[] = []
  const killer = (async () => {
    for (let round = 0; round < KILLS; round++) {
      await sleep(150 + Math.random() * 400)
      const killedAt = Date.now()
      service.child.kill('SIGKILL')
      await service.exited
      service = await start()
      kills.push(Date.now() - killedAt)
    }
    killing = false
  })()
  await Promise.all([...clients, killer])
  t.teardown(() => { service.child.kill('SIGTERM') })

  const rows = await database.db.selectFrom('report_submissions').select(['province_code', 'receipt_id', 'data']).execute()
  const stored = new Set(rows.map((r) => r.receipt_id))
  t.equal(stats.acknowledged.length, [...written.values()].reduce((a, b) => a + b, 0), 'every write was acknowledged in the end')
  t.ok(stats.acknowledged.every((a) => stored.has(a.receipt)), 'every acknowledged write is in the database')
  for (const code of provinces) {
    const values = rows.filter((r) => r.province_code === code).map((r) => (r.data as { bulletinBoards: number }).bulletinBoards).sort((a, b) => a - b)
    t.same(values, Array.from({ length: written.get(code)! }, (_, i) => i), `province ${code}: each write once`)
  }
  t.equal(kills.length, KILLS)

  // The audit log: one entry per receipt, committed with it, and a tree that covers every id and verifies.
  const receipts = await database.db.selectFrom('receipts').select('id').execute()
  const entries = await database.db.selectFrom('audit_log').select(['receipt_id', 'call_token']).where('receipt_id', 'is not', null).execute()
  const byReceipt = new Map(entries.map((e) => [e.receipt_id, e]))
  t.equal(entries.length, receipts.length, `${receipts.length} receipts, as many audit entries naming one`)
  t.ok(receipts.every((r) => byReceipt.get(r.id)?.call_token), 'every receipt has its audit entry, with the signed call')
  const { max } = await database.db.selectFrom('audit_log').select((eb) => eb.fn.max('id').as('max')).executeTakeFirstOrThrow()
  await until(async () => (await database.db.selectFrom('audit_tree_state').select('tree_size').executeTakeFirstOrThrow()).tree_size >= Number(max), 60_000, 'the tree covers every entry')
  const verification = await verifyAuditLog(database.db, (await readServiceKeys(generatedKeyFile(dir))).jwks)
  t.ok(verification.ok, verification.problems.join('; '))
  const voids = await database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'void').executeTakeFirstOrThrow()
  t.comment(`crash run: ${stats.requests} requests, ${stats.failures} failed and retried, ${stats.answersLost} applied writes whose answer died with the process (recovered by receipt), ` +
    `${KILLS} SIGKILLs, restart to listening in median ${kills.sort((a, b) => a - b)[KILLS >> 1]} ms (max ${kills.at(-1)} ms); ` +
    `${verification.entries} audit entries verified in ${verification.checkpoints} checkpoints, ${Number(voids.n)} ids of killed transactions as void leaves`)
})
