import { readFile, writeFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { loadConfig } from '../config.js'
import type { Database } from '../db/database.js'
import { TtnClient } from '../client/client.js'
import { readSigningKey } from '../client/keys.js'
import type { FeedOptions } from '../client/paging.js'

export const DIRECT = 'Opens the database directly (DATABASE_URL, or the embedded one in DATA_DIR, which must not be in use by a running service).'

export const print = (line: string): void => { process.stdout.write(line + '\n') }
export const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2))

/** Opens the configured database (a fresh embedded folder from the migrated image, as the service does), brings its schema up to date, runs `work`, and closes it. */
export async function withDatabase<T>(work: (database: Database, migrationsApplied: number) => Promise<T>): Promise<T> {
  const [{ openConfigured }, { usableImage }, { migrateToLatest }] = await Promise.all([
    import('../db/database.js'), import('../db/embedded-image.js'), import('../db/migrator.js'),
  ])
  const database = await openConfigured(loadConfig(), { freshImage: () => usableImage() })
  try {
    const applied = await migrateToLatest(database.db)
    return await work(database, applied.length)
  } finally {
    await database.close()
  }
}

export interface CallerOptions { url: string, systemId: string, key: string, audience: string }

/** The options every command that calls the service takes, each with an environment variable. */
export function withCallerOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'base URL of the service').env('TTN_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--system-id <id>', 'system id to call as (the iss of call tokens)').env('TTN_SYSTEM_ID').makeOptionMandatory())
    .addOption(new Option('--key <file>', 'private JWK file to sign calls with').env('TTN_KEY_FILE').makeOptionMandatory())
    .addOption(new Option('--audience <id>', 'SERVICE_ID of the service').env('TTN_AUDIENCE').default('ttn-central'))
}

export async function clientFrom(options: CallerOptions): Promise<TtnClient> {
  return new TtnClient({ baseUrl: options.url, systemId: options.systemId, key: await readSigningKey(options.key), audience: options.audience })
}

export interface FeedCommandOptions { after?: string, cursorFile?: string, follow?: number }

/** The options of a command that reads a cursor feed: where to start, where to keep the position, whether to follow. */
export function withFeedOptions(command: Command): Command {
  return command
    .option('--after <cursor>', 'start after this cursor')
    .option('--cursor-file <file>', 'read the cursor from this file and write the new one back')
    .option('--follow <ms>', 'keep polling every so many milliseconds', (v) => Number.parseInt(v, 10))
}

/** Starts after `--after`, else after the cursor saved in `--cursor-file`, and saves each new cursor there. */
export async function feedOptions(options: FeedCommandOptions): Promise<FeedOptions> {
  const { cursorFile } = options
  const saved = cursorFile ? (await readFile(cursorFile, 'utf8').catch(() => '')).trim() || undefined : undefined
  return {
    after: options.after ?? saved,
    followMs: options.follow,
    ...(cursorFile ? { onCursor: (cursor: string) => writeFile(cursorFile, cursor + '\n') } : {}),
  }
}
