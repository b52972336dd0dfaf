import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { Command, Option } from 'commander'
import { parse } from 'csv-parse/sync'
import type { Static } from 'typebox'
import { BroadcastLogEntry, BroadcastSource, MAX_BROADCAST_LOG_BATCH } from '../../schemas/content.js'
import { fieldErrors } from '../http/errors.js'
import { compileValidator } from '../http/validation.js'
import { clientFrom, feedOptions, print, withCallerOptions, withFeedOptions, type CallerOptions, type FeedCommandOptions } from './common.js'
import { batchPushes, batchSizeOption, outboxOption, provinceOf, sendThroughOutbox, waitOption } from './pushes.js'

type Entry = Static<typeof BroadcastLogEntry>

const INTEGER = /^\d+$/

/** A CSV line to an entry: columns named like the fields (stationId, contentId, localRef, startedAt, endedAt, clustersReached, source); empty cells are left out. */
function entryFromCsv(row: Record<string, string>): Record<string, unknown> {
  const entry: Record<string, unknown> = {}
  for (const [column, raw] of Object.entries(row)) {
    const value = raw.trim()
    if (value === '') continue
    entry[column] = column === 'clustersReached' && INTEGER.test(value) ? Number(value) : value
  }
  return entry
}

/** Reads broadcast log entries from JSON (an array, or `{ "entries": [...] }`) or CSV; every malformed entry is named before anything is sent. */
export async function readBroadcastLogs(file: string): Promise<{ entries: Entry[], where: (index: number) => string }> {
  const text = await readFile(file, 'utf8')
  const csv = extname(file).toLowerCase() === '.csv'
  let entries: unknown[]
  if (csv) {
    entries = (parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[]).map(entryFromCsv)
  } else {
    const parsed: unknown = JSON.parse(text)
    entries = Array.isArray(parsed) ? parsed : (parsed as { entries?: unknown[] }).entries ?? []
  }
  const where = (index: number) => (csv ? `line ${index + 2}` : `entry ${index}`)
  const validate = compileValidator(BroadcastLogEntry)
  const problems: string[] = []
  entries.forEach((entry, i) => {
    if (validate(entry)) return
    for (const error of fieldErrors('body', (validate.errors ?? []) as never).slice(0, 3)) problems.push(`${where(i)}: ${error.pointer} ${error.message}`)
  })
  if (problems.length > 0) throw new Error(`${file} has malformed entries:\n${problems.slice(0, 30).join('\n')}${problems.length > 30 ? `\n... and ${problems.length - 30} more` : ''}`)
  return { entries: entries as Entry[], where }
}

/** `ttn feed pull`, `ttn logs send` and `ttn logs list`: the essential-content feed and the broadcast logs. */
export function contentCommands(): Command[] {
  const feed = new Command('feed').description('The essential-content feed.')
  withFeedOptions(withCallerOptions(feed.command('pull')))
    .description('Print content notifications (publications, new versions, withdrawals) as JSON lines from a cursor; with --cursor-file, resume from and save the position there.')
    .option('--ack', 'acknowledge each publication and new version as received now (a provincial system)')
    .action(async (options: CallerOptions & FeedCommandOptions & { ack?: boolean }) => {
      const client = await clientFrom(options)
      let count = 0
      for await (const notification of client.feed(await feedOptions(options))) {
        print(JSON.stringify(notification))
        if (options.ack && notification.type !== 'content.withdrawn') {
          await client.ackContent(notification.content.id, { receivedAt: new Date().toISOString() })
        }
        count++
      }
      process.stderr.write(`${count} notifications\n`)
    })

  const logs = new Command('logs').description('Broadcast logs (nhật ký phát thanh).')
  withCallerOptions(logs.command('send'))
    .description('Send the broadcast logs of your province from a JSON or CSV file, in batches of 5000. Valid entries are stored and each rejected one is listed; ' +
      're-sending the file stores nothing twice. Exits with 4 when some entries were rejected.')
    .argument('<file>', 'a JSON array (or {"entries": [...]}), or CSV with a header line: stationId,contentId,localRef,startedAt,endedAt,clustersReached,source')
    .addOption(batchSizeOption(MAX_BROADCAST_LOG_BATCH, 'entries'))
    .addOption(outboxOption())
    .addOption(waitOption())
    .action(async (file: string, options: CallerOptions & { batchSize: number, outbox?: string, wait: number }) => {
      const { entries, where } = await readBroadcastLogs(file)
      const client = await clientFrom(options)
      const province = provinceOf(options.systemId)
      if (options.outbox) {
        const pushes = batchPushes('POST', `/v2/provinces/${province}/broadcast-logs`, 'entries', entries, options.batchSize)
        return sendThroughOutbox(client, options.outbox, pushes, options.wait)
      }
      const result = await client.sendBroadcastLogs(province, entries, {
        batchSize: options.batchSize,
        onBatch: (sent, total) => process.stderr.write(`\rsent ${sent}/${total}`),
      })
      if (entries.length > 0) process.stderr.write('\n')
      print(`${entries.length} entries: ${result.accepted} stored, ${result.duplicate} already stored, ${result.rejected} rejected`)
      for (const rejection of result.rejections) print(`${where(rejection.index)}: ${rejection.reason}: ${rejection.message}`)
      if (result.rejected > 0) process.exitCode = 4
    })

  withCallerOptions(logs.command('list'))
    .description('Print stored broadcast logs as JSON lines, latest start first: your province\'s, or with --province any province\'s (central).')
    .option('--province <code>', 'the province (default: that of --system-id)')
    .option('--station <id>', 'only plays of this station')
    .option('--content <id>', 'only plays of this central content item')
    .addOption(new Option('--source <source>', 'only plays from this source').choices(BroadcastSource.enum))
    .option('--from <instant>', 'only plays that started at or after this instant (RFC 3339)')
    .option('--to <instant>', 'only plays that started before this instant (RFC 3339)')
    .action(async (options: CallerOptions & { province?: string, station?: string, content?: string, source?: Entry['source'], from?: string, to?: string }) => {
      const client = await clientFrom(options)
      let count = 0
      for await (const log of client.broadcastLogs(options.province ?? provinceOf(options.systemId), {
        station: options.station, contentId: options.content, source: options.source, from: options.from, to: options.to, limit: 1000,
      })) {
        print(JSON.stringify(log))
        count++
      }
      process.stderr.write(`${count} entries\n`)
    })

  return [feed, logs]
}
