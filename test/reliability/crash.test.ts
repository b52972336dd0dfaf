import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { generateKey, importSigningKey, type SigningKey } from '../../src/client/keys.js'
import { signCall } from '../../src/client/sign.js'
import { serverUrl, testDatabase } from '../helpers/database.js'
import { freePort, startService, type ServiceProcess } from '../helpers/service.js'

const indicators = (bulletinBoards: number) => ({
  stations: { wired: 0, fm: 0, wiredFm: 0, ip: 0 }, clusters: { ip: 0, fm: 0, wired: 0 },
  investment: { newStations: 0, clustersReplaced: 0, clustersAddedToVillages: 0 }, bulletinBoards,
  informationWorkers: { total: 0, trained: 0 }, bulletins: { produced: 0, aired: 0, airtimeHours: 0 },
  fundingMillionVnd: { newRuralDevelopment: 0, sustainablePovertyReduction: 0, localBudget: 0, other: 0 },
})

t.test('writes acknowledged before SIGKILL survive it; retries duplicate nothing', { timeout: 400_000, skip: serverUrl ? false : 'needs TEST_DATABASE_URL: the embedded database is for one process, not for crash tests' }, async (t) => {
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
  const env = { DATABASE_URL: database.url!, DATA_DIR: dir, SYSTEMS_FILE: join(dir, 'systems.json'), PORT: String(port) }
  const start = () => startService(t, env)
  let service: ServiceProcess = await start()

  const writesPerProvince = 20
  const stats = { requests: 0, failures: 0, answersLost: 0, acknowledged: [] as { receipt: string, province: string, value: number }[] }
  const clients = provinces.map(async (code) => {
    for (let value = 0; value < writesPerProvince; value++) {
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
          if (response.statusCode === 201 || answer.code === 'idempotency-answer-lost') {
            stats.acknowledged.push({ receipt: answer.receipt?.id ?? answer.receiptId!, province: code, value })
            if (answer.code) stats.answersLost++
            break
          }
          t.not(response.statusCode, 500, 'never a 500')
          stats.failures++
        } catch {
          stats.failures++
        }
        await sleep(200)
      }
    }
  })

  const kills: number[] = []
  const killer = (async () => {
    for (let round = 0; round < 3; round++) {
      await sleep(700)
      const killedAt = Date.now()
      service.child.kill('SIGKILL')
      await service.exited
      service = await start()
      kills.push(Date.now() - killedAt)
    }
  })()
  await Promise.all([...clients, killer])
  t.teardown(() => { service.child.kill('SIGTERM') })

  const rows = await database.db.selectFrom('report_submissions').select(['province_code', 'receipt_id', 'data']).execute()
  const stored = new Set(rows.map((r) => r.receipt_id))
  t.equal(stats.acknowledged.length, provinces.length * writesPerProvince)
  t.ok(stats.acknowledged.every((a) => stored.has(a.receipt)), 'every acknowledged write is in the database')
  for (const code of provinces) {
    const values = rows.filter((r) => r.province_code === code).map((r) => (r.data as { bulletinBoards: number }).bulletinBoards).sort((a, b) => a - b)
    t.same(values, Array.from({ length: writesPerProvince }, (_, i) => i), `province ${code}: each write once`)
  }
  t.equal(kills.length, 3)
  t.comment(`crash run: ${stats.requests} requests, ${stats.failures} failed and retried, ${stats.answersLost} applied writes whose answer died with the process (recovered by receipt), 3 SIGKILLs, restart to listening in ${kills.join(', ')} ms`)
})
