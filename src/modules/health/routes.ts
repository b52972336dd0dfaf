import { Type } from 'typebox'
import { Strict, StringEnum } from '../../../schemas/common.js'
import type { App } from '../../app-type.js'
import { pendingMigrations } from '../../db/migrator.js'
import { exemptFromPressure } from '../../http/limits.js'
import { HttpProblem } from '../../http/problem.js'

const Live = Strict({ status: Type.Literal('live') }, { description: 'The process is up.', examples: [{ status: 'live' }] })
const Ready = Strict({
  status: Type.Literal('ready'),
  database: StringEnum(['postgresql', 'embedded'], { description: 'Which database the instance uses.' }),
}, { description: 'The database answers and its schema is current.', examples: [{ status: 'ready', database: 'postgresql' }] })

/** Migrations found current stay so for a while: readiness is asked every few seconds and must not queue behind callers' work. */
const MIGRATIONS_RECHECK_MS = 60_000

export async function healthRoutes(app: App) {
  const { database } = app.deps
  let migrationsCurrentAt = -Infinity

  app.get('/health/live', {
    config: { policy: 'public', ...exemptFromPressure },
    schema: { tags: ['health'], operationId: 'live', summary: 'Liveness: the process is up', response: { 200: Live } },
  }, async () => ({ status: 'live' as const }))

  app.get('/health/ready', {
    config: { policy: 'public', problems: { 503: [{ code: 'not-ready', detail: 'migrations pending: 0031-availability-rollups' }] } },
    schema: {
      tags: ['health'],
      operationId: 'ready',
      summary: 'Readiness: the database answers and migrations are current',
      description: 'A load balancer sends traffic only to instances answering 200 here; 503 with a problem document otherwise.',
      response: { 200: Ready },
    },
  }, async () => {
    if (!await database.ping()) {
      throw new HttpProblem('not-ready', 'the database does not answer', { headers: { 'retry-after': '5' } })
    }
    if (Date.now() - migrationsCurrentAt > MIGRATIONS_RECHECK_MS) {
      const pending = await pendingMigrations(database.db).catch(() => ['unknown'])
      if (pending.length > 0) {
        throw new HttpProblem('not-ready', `migrations pending: ${pending.join(', ')}`, { headers: { 'retry-after': '5' } })
      }
      migrationsCurrentAt = Date.now()
    }
    return { status: 'ready' as const, database: database.kind }
  })
}
