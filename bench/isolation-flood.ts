/**
 * The flooding province of bench/isolation.ts, in a process of its own so that its work does not
 * slow the calls it is compared with: keeps FLOOD_PER_KIND maximum-size batches of each kind in
 * flight against FLOOD_URL as province FLOOD_PROVINCE, re-sending each as soon as it is answered,
 * until SIGTERM; then prints the count of answers by status as one JSON line.
 */
import { Pool } from 'undici'
import { readSigningKey } from '../src/client/keys.js'
import { signCall } from '../src/client/sign.js'

const url = process.env.FLOOD_URL!
const province = process.env.FLOOD_PROVINCE!
const perKind = Number(process.env.FLOOD_PER_KIND)
const key = await readSigningKey(process.env.FLOOD_KEY_FILE!)
const pool = new Pool(url, { connections: perKind * 3 })

const now = Date.now()
const stations = JSON.stringify({ items: Array.from({ length: 1000 }, (_, i) => ({ id: `st-${i}`, communeCode: '26740', name: `Đài ${i}`, kind: 'ip', status: 'operating' })) })
const events = JSON.stringify({ events: Array.from({ length: 5000 }, (_, i) => ({ deviceType: 'station', deviceId: `st-${i % 1000}`, state: i % 7 ? 'online' : 'playing', observedAt: new Date(now - 60_000 + i).toISOString() })) })
const logs = JSON.stringify({
  entries: Array.from({ length: 5000 }, (_, i) => ({
    stationId: `st-${i % 1000}`, localRef: `local-${i}`, source: 'province',
    startedAt: new Date(now - 86_400_000 * 3 + i * 60_000).toISOString(), endedAt: new Date(now - 86_400_000 * 3 + i * 60_000 + 30_000).toISOString(),
  })),
})

let stop = false
const outcomes: Record<string, number> = {}
async function sender(method: 'PUT' | 'POST', path: string, body: string) {
  while (!stop) {
    const token = await signCall({ issuer: `province-${province}`, audience: 'ttn-central', key, method, pathAndQuery: path, body })
    const status = await pool.request({ method, path, body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, headersTimeout: 120_000, bodyTimeout: 120_000 })
      .then(async (response) => { await response.body.dump(); return response.statusCode }, () => 0)
    outcomes[status] = (outcomes[status] ?? 0) + 1
  }
}
const path = (kind: string) => `/v2/provinces/${province}/${kind}`
const senders = Array.from({ length: perKind }, () => [sender('PUT', path('stations'), stations), sender('POST', path('status-events'), events), sender('POST', path('broadcast-logs'), logs)]).flat()
process.stdout.write('flooding\n')
process.once('SIGTERM', () => {
  stop = true
  void Promise.all(senders).then(async () => {
    process.stdout.write(JSON.stringify(outcomes) + '\n')
    await pool.close()
    process.exit(0)
  })
})
