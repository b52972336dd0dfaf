import { createHash } from 'node:crypto'
import pg from 'pg'

/** Statements with more parameters than this (batches, whose text grows with their length) are sent unnamed. */
export const MAX_PREPARED_PARAMETERS = 32
/** SQLSTATE of, among others, a prepared statement whose result columns changed under it. */
const FEATURE_NOT_SUPPORTED = '0A000'

/**
 * A pg client that prepares each statement once per connection, under a name taken from its
 * text, so PostgreSQL parses and plans it once instead of on every call (about a third of the
 * server's CPU for a small write). Only statements with few parameters are named: their distinct
 * texts are bounded by the code, and so is what they hold on the server. When a statement's
 * result shape changes under it (another instance migrated the schema), the connection prepares
 * its statements again under new names.
 */
export class PreparingClient extends pg.Client {
  private generation = 0

  // pg's overloads cannot be restated one by one: the override forwards every form it does not name.
  override query(...args: any[]): any {
    const [text, values, callback] = args
    if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || values.length > MAX_PREPARED_PARAMETERS || callback !== undefined) {
      return (super.query as (...forwarded: unknown[]) => unknown)(...args)
    }
    const name = `ttn${this.generation}_${createHash('sha1').update(text).digest('base64url')}`
    return super.query({ name, text, values }).catch((error: { code?: string }) => {
      if (error?.code === FEATURE_NOT_SUPPORTED) this.generation++
      throw error
    })
  }
}
