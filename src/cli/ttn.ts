#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import { ConfigError, loadConfig } from '../config.js'
import { openConfigured, type Database } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'
import { parseCommuneCsv } from '../modules/catalogue/csv.js'
import { CatalogueStore } from '../modules/catalogue/store.js'
import { generateOpenApi } from '../openapi.js'

const DIRECT = 'Opens the database directly (DATABASE_URL, or the embedded one in DATA_DIR, which must not be in use by a running service).'

/** Opens the configured database, brings its schema up to date, runs `work`, and closes it. */
async function withDatabase<T>(work: (database: Database, migrationsApplied: number) => Promise<T>): Promise<T> {
  const database = await openConfigured(loadConfig())
  try {
    const applied = await migrateToLatest(database.db)
    return await work(database, applied.length)
  } finally {
    await database.close()
  }
}

const print = (line: string) => process.stdout.write(line + '\n')

export function buildProgram(): Command {
  const program = new Command('ttn')
    .description('Operate ttn-interop, the interoperability API between the central and provincial source-information systems.')
    .showHelpAfterError()

  program.command('migrate')
    .description(`Apply pending database migrations. ${DIRECT}`)
    .action(async () => {
      const applied = await withDatabase(async (_database, count) => count)
      print(applied === 0 ? 'database is up to date' : `applied ${applied} migrations`)
    })

  const catalogue = program.command('catalogue').description('The administrative-unit catalogue.')
  catalogue.command('import')
    .argument('<file>', 'CSV with a header line: code,name,kind,province_code[,former_codes][,effective_on]')
    .description(`Import commune-level units from the official list; re-importing the same file changes nothing. ${DIRECT}`)
    .action(async (file: string) => {
      const rows = parseCommuneCsv(await readFile(file))
      const report = await withDatabase((database) => new CatalogueStore(database.db).importCommunes(rows))
      const changed = report.added.length + report.updated.length + report.retired.length + report.predecessorsAdded
      print(`${report.rows} rows: ${report.added.length} added, ${report.updated.length} updated, ${report.unchanged} unchanged, ` +
        `${report.retired.length} former units retired, ${report.predecessorsAdded} successions recorded`)
      if (changed === 0) print('no change')
    })

  program.command('openapi')
    .description('Print the OpenAPI contract the code declares, or write it to a file.')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (options: { out?: string }) => {
      const document = await generateOpenApi()
      if (options.out) await writeFile(options.out, document)
      else process.stdout.write(document)
    })

  return program
}

buildProgram().parseAsync().catch((error: unknown) => {
  const message = error instanceof ConfigError ? `invalid configuration: ${error.message}` : (error as Error).message
  process.stderr.write(`ttn: ${message}\n`)
  process.exit(1)
})
