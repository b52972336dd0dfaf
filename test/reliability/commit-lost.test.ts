import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { serverUrl } from '../helpers/database.js'
import { registerSystem, signedInject } from '../helpers/systems.js'
import { proxiedDatabase } from '../helpers/tcp-proxy.js'

/**
 * The connection to the database breaks while a write commits. The service cannot know whether
 * it was applied, so it must not say "nothing was written": it says the outcome is unknown and
 * how to find out, and both ways of finding out tell the truth.
 */
t.test('a write whose COMMIT lost its connection is answered write-outcome-unknown, and its receipt or Idempotency-Key tells what happened',
  { skip: serverUrl ? false : 'needs TEST_DATABASE_URL (a PostgreSQL server to cut off mid-commit)' }, async (t) => {
    const { target, database, proxy } = await proxiedDatabase(t, { connectionTimeoutMs: 2000 })
    const { app } = await buildTestApp(t, { database, env: { AUDIT_SEAL_INTERVAL_MS: '3600000', WEBHOOK_CONCURRENCY: '0' } })
    const province = await registerSystem(target, 'province-79')
    const put = (id: string, key: string) => signedInject(app, province, {
      method: 'PUT', url: '/v2/provinces/79/stations', headers: { 'idempotency-key': key },
      body: { items: [{ id, communeCode: '26740', name: `Đài ${id}`, kind: 'ip', status: 'operating' }] },
    })
    const stored = async (id: string) => (await target.db.selectFrom('stations').select('id').where('id', '=', id).execute()).length

    for (const when of ['after', 'before'] as const) {
      const broken = proxy.breakOn('commit', when)
      const answer = await put(`st-${when}`, `key-${when}`)
      await broken
      t.equal(answer.statusCode, 503, `COMMIT cut ${when} the server ran it`)
      t.equal(answer.json().code, 'write-outcome-unknown')
      t.ok(answer.headers['retry-after'])
      const receiptId = answer.json().receiptId as string
      t.match(answer.json().detail, new RegExp(`GET /v2/receipts/${receiptId}`), 'the answer says how to find out')

      const receipt = await signedInject(app, province, { method: 'GET', url: `/v2/receipts/${receiptId}` })
      const retry = await put(`st-${when}`, `key-${when}`)
      if (when === 'after') {
        t.equal(await stored('st-after'), 1, 'the server committed it')
        t.equal(receipt.statusCode, 200, 'its receipt is there')
        t.equal(retry.statusCode, 409, 'a retry with the same key applies nothing again')
        // Within seconds of the commit the key reads as just applied; later, as applied with its answer lost. Both name the receipt.
        t.match(retry.json(), { code: /^idempotency-(key-in-flight|answer-lost)$/, receiptId })
        t.equal(await stored('st-after'), 1, 'still once')
      } else {
        t.equal(receipt.statusCode, 404, 'no receipt: it was not applied')
        t.equal(retry.statusCode, 200, 'a retry with the same key applies it now')
        t.equal(await stored('st-before'), 1)
      }
    }
  })
