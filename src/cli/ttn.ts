#!/usr/bin/env node
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { Command, Option } from 'commander'
import { readSigningKey } from '../client/keys.js'
import { signCall } from '../client/sign.js'
import { loadConfig } from '../config.js'
import { consoleCommand } from '../console/command.js'
import { auditCommand } from './audit.js'
import { addCentralCommands } from './central.js'
import { DIRECT, print, withDatabase } from './common.js'
import { contentCommands } from './content.js'
import { conformanceCommand } from './conformance.js'
import { describeFailure, packageVersion } from './failure.js'
import { flowCommands } from './flows.js'
import { initCommand } from './init.js'
import { keysCommand } from './keys.js'
import { statusCommand } from './status.js'
import { systemsCommand } from './systems.js'

export function buildProgram(): Command {
  const program = new Command('ttn')
    .description('Operate ttn-interop, the interoperability API between the central and provincial source-information systems.')
    .version(packageVersion())
    .showHelpAfterError()

  program.addCommand(initCommand())

  program.command('migrate')
    .description(`Apply pending database migrations. ${DIRECT}`)
    .action(async () => {
      const applied = await withDatabase(async (_database, count) => count)
      print(applied === 0 ? 'database is up to date' : `applied ${applied} migrations`)
    })

  const catalogue = program.command('catalogue').description('The administrative-unit catalogue.')
  catalogue.command('import')
    .argument('<file>', 'CSV with a header line: code,name,kind,province_code[,former_codes][,effective_on][,succession_note]')
    .description(`Import commune-level units from the official list as a new version of the catalogue, with its differences; ${''
    }importing the same list again changes nothing. ${DIRECT}`)
    .option('--dry-run', 'show what the import would change, and change nothing')
    .action(async (file: string, options: { dryRun?: boolean }) => {
      const [{ parseCommuneCsv }, { CatalogueStore }] = await Promise.all([import('../modules/catalogue/csv.js'), import('../modules/catalogue/store.js')])
      const bytes = await readFile(file)
      const rows = parseCommuneCsv(bytes)
      const source = { name: basename(file), sha256: createHash('sha256').update(bytes).digest('hex') }
      const report = await withDatabase((database) => new CatalogueStore(database.db).importCommunes(rows, source, { dryRun: options.dryRun === true }))
      print(`${report.rows} rows: ${report.added.length} added, ${report.updated.length} updated, ${report.unchanged} unchanged, ` +
        `${report.retired.length} former units retired, ${report.predecessorsAdded} successions recorded` +
        (report.split.length ? `; split between several units: ${report.split.join(', ')}` : ''))
      const changed = report.added.length + report.updated.length + report.retired.length + report.predecessorsAdded > 0
      if (!changed) print('no change')
      else if (options.dryRun) print('dry run: nothing was written')
      else print(`catalogue version ${report.version} (sha256 ${source.sha256})`)
    })

  program.command('prune')
    .description('Remove device status history older than STATUS_RETENTION_DAYS and daily availability older than AVAILABILITY_RETENTION_DAYS: ' +
      'monthly partitions that end before a cutoff are dropped whole, older rows of the month it falls in are deleted. ' +
      `Then run the media retention job at once (files no item in force uses after MEDIA_UNUSED_HOURS, expired uploads). ${DIRECT}`)
    .option('--days <days>', 'keep this many days of history instead of STATUS_RETENTION_DAYS', (v) => Number.parseInt(v, 10))
    .option('--availability-days <days>', 'keep this many days of daily availability instead of AVAILABILITY_RETENTION_DAYS', (v) => Number.parseInt(v, 10))
    .action(async (options: { days?: number, availabilityDays?: number }) => {
      const [{ MonthlyPartitions }, { MediaRetention }, { FileMediaStorage, UploadArea, mediaRoot }, { MediaStore }, { createLogger }] = await Promise.all([
        import('../modules/status/partitions.js'), import('../modules/media/retention.js'), import('../modules/media/storage.js'),
        import('../modules/media/store.js'), import('../logger.js'),
      ])
      const config = loadConfig()
      const kinds = [
        { what: 'status history', days: options.days ?? config.STATUS_RETENTION_DAYS, partitions: MonthlyPartitions.history, option: '--days' },
        { what: 'daily availability', days: options.availabilityDays ?? config.AVAILABILITY_RETENTION_DAYS, partitions: MonthlyPartitions.days, option: '--availability-days' },
      ]
      for (const kind of kinds) if (!Number.isInteger(kind.days) || kind.days < 1) throw new Error(`${kind.option} must be a whole number of days, at least 1`)
      await withDatabase(async (database) => {
        for (const kind of kinds) {
          const cutoff = new Date(Date.now() - kind.days * 86_400_000)
          const result = await kind.partitions(database.db).prune(cutoff)
          print(`${kind.what} before ${cutoff.toISOString()} removed: ${result.droppedPartitions.length} monthly partitions dropped` +
            `${result.droppedPartitions.length ? ` (${result.droppedPartitions.join(', ')})` : ''}, ${result.deletedRows} older rows deleted`)
        }
        const root = mediaRoot(config)
        const media = await new MediaRetention(database.db, new MediaStore(database.db), new FileMediaStorage(root), new UploadArea(root), config,
          createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false })).run()
        print(`media removed: ${media.removed.length} files no item in force uses (${media.removed.reduce((sum, r) => sum + r.bytes, 0)} bytes)` +
          `${media.removed.length ? `: ${media.removed.map((r) => r.sha256).join(', ')}` : ''}; ${media.uploadsExpired.length} expired uploads`)
      })
    })

  program.addCommand(keysCommand())
  program.addCommand(systemsCommand())
  for (const command of flowCommands()) program.addCommand(command)
  program.addCommand(statusCommand())
  for (const command of contentCommands()) program.addCommand(command)

  program.command('token')
    .description('Print a call token for one request, to call the API with curl: curl -H "Authorization: Bearer $(ttn token ...)".')
    .addOption(new Option('--system-id <id>', 'the caller (iss)').env('TTN_SYSTEM_ID').makeOptionMandatory())
    .addOption(new Option('--key <file>', 'private JWK file').env('TTN_KEY_FILE').makeOptionMandatory())
    .addOption(new Option('--audience <id>', 'the callee (aud)').env('TTN_AUDIENCE').default('ttn-central'))
    .requiredOption('--method <method>', 'HTTP method of the request')
    .requiredOption('--path <path>', 'path and query exactly as sent, e.g. /v2/systems?limit=10')
    .option('--body-file <file>', 'the exact body bytes to be sent')
    .option('--lifetime <seconds>', 'seconds the token stays valid (at most 300)', (v) => Number.parseInt(v, 10), 60)
    .action(async (options: { systemId: string, key: string, audience: string, method: string, path: string, bodyFile?: string, lifetime: number }) => {
      print(await signCall({
        issuer: options.systemId,
        audience: options.audience,
        key: await readSigningKey(options.key),
        method: options.method,
        pathAndQuery: options.path,
        body: options.bodyFile ? await readFile(options.bodyFile) : undefined,
        lifetimeSeconds: options.lifetime,
      }))
    })

  program.addCommand(auditCommand())

  program.command('openapi')
    .description('Print the OpenAPI contract the code declares, or write it to a file.')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (options: { out?: string }) => {
      const { generateOpenApi } = await import('../openapi.js')
      const document = await generateOpenApi()
      if (options.out) await writeFile(options.out, document)
      else process.stdout.write(document)
    })

  program.addCommand(conformanceCommand())
  program.addCommand(consoleCommand())
  addCentralCommands(program)

  return program
}

buildProgram().parseAsync().catch((error: unknown) => {
  process.stderr.write(`ttn: ${describeFailure(error)}\n`)
  process.exit(1)
})
