import type {
  FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault,
} from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import type { Database } from './db/database.js'
import type { ServiceKeys } from './auth/service-keys.js'
import type { MediaStorage } from './modules/media/storage.js'

export interface AppDeps {
  config: Config
  database: Database
  /** A read replica that summaries are computed on; the primary when absent. */
  readDatabase?: Database
  /** The keys the service signs receipts, seals and webhook calls with. */
  serviceKeys: ServiceKeys
  /** Where media files are kept; files under MEDIA_DIR when omitted. */
  mediaStorage?: MediaStorage
  /** A pino logger; silent when omitted. */
  logger?: FastifyBaseLogger
}

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps
  }
}
