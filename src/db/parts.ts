import { sql, type RawBuilder } from 'kysely'
import type { Db } from './database.js'

/** A row as JSON carries it: numbers, strings (timestamps and sums cast to text among them), booleans, null. */
export type JsonRow = Record<string, any>

/**
 * A query and the reading of its rows, which may run in one statement with others: a read
 * made of many small aggregates (a summary) then costs one round trip, one connection and one
 * plan instead of one of each per query.
 */
export interface Part<T> {
  query: RawBuilder<unknown>
  read: (rows: JsonRow[]) => T
}

export const part = <T>(query: RawBuilder<unknown>, read: (rows: JsonRow[]) => T): Part<T> => ({ query, read })

/** Byte order, as the database's C collation sorts keys: for the parts that sort in their reading, and cursors that must agree. */
export const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** A part with no rows, where a statement has nothing to ask. */
export const none = <T>(): Part<T[]> => part(sql`select where false`, () => [])

type Results<P extends Record<string, Part<unknown>>> = { [K in keyof P]: P[K] extends Part<infer T> ? T : never }

/**
 * The parts as one: a row of one JSON array per part, in no promised order (a part that needs
 * one sorts in its reading). It can itself be a part of another.
 */
export function together<P extends Record<string, Part<unknown>>>(parts: P): Part<Results<P>> {
  const names = Object.keys(parts)
  const columns = names.map((name) => sql`(select coalesce(json_agg(p), '[]') from (${parts[name]!.query}) p) as ${sql.ref(name)}`)
  return part(sql`select ${sql.join(columns)}`, (rows) => Object.fromEntries(names.map((name) => [name, parts[name]!.read(rows[0]![name])])) as Results<P>)
}

/** Runs the parts in one statement. */
export async function runParts<P extends Record<string, Part<unknown>>>(db: Db, parts: P): Promise<Results<P>> {
  const all = together(parts)
  return all.read((await all.query.execute(db)).rows as JsonRow[])
}

export const runPart = async <T>(db: Db, one: Part<T>): Promise<T> => (await runParts(db, { one })).one
