import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { parse } from 'csv-parse/sync'
import { Command } from 'commander'
import { MAX_STATUS_BATCH, type StatusEvent } from '../../schemas/status.js'
import { clientFrom, print, withCallerOptions, type CallerOptions } from './common.js'
import { batchPushes, batchSizeOption, outboxOption, provinceOf, sendThroughOutbox, waitOption } from './pushes.js'

const NUMERIC_COLUMNS = new Set(['volumePercent', 'signalDbm', 'supplyVoltage', 'temperatureC'])

/** A CSV line to an event: columns named like the fields of StatusEvent; empty cells are left out. */
function fromCsvRow(row: Record<string, string>): Record<string, unknown> {
  const event: Record<string, unknown> = {}
  for (const [column, raw] of Object.entries(row)) {
    const value = raw.trim()
    if (value === '') continue
    event[column] = NUMERIC_COLUMNS.has(column) && Number.isFinite(Number(value)) ? Number(value) : value
  }
  return event
}

/** Events from a JSON file (an array, or `{ "events": [...] }`) or a CSV file with a header line. */
export async function readStatusEvents(file: string): Promise<{ events: StatusEvent[], csv: boolean }> {
  const text = await readFile(file, 'utf8')
  const csv = extname(file).toLowerCase() === '.csv'
  if (csv) return { events: (parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[]).map(fromCsvRow) as StatusEvent[], csv }
  const parsed: unknown = JSON.parse(text)
  const events = Array.isArray(parsed) ? parsed : (parsed as { events?: unknown })?.events
  if (!Array.isArray(events)) throw new Error(`${file}: expected a JSON array of status events, or {"events": [...]}`)
  return { events: events as StatusEvent[], csv }
}

export function statusCommand(): Command {
  const status = new Command('status').description('Device status of stations, clusters and boards.')
  withCallerOptions(status.command('send'))
    .description(`Send status events of your province from a JSON or CSV file, in batches of up to ${MAX_STATUS_BATCH}; ` +
      'valid events are stored and each rejected one is listed with its reason; exits with 4 when any event was rejected.')
    .argument('<file>', 'a JSON array of events (or {"events": [...]}), or CSV with a header line of field names: ' +
      'deviceType,deviceId,state,observedAt[,faultCode,faultMessage,volumePercent,signalDbm,supplyVoltage,temperatureC]')
    .addOption(batchSizeOption(MAX_STATUS_BATCH, 'events'))
    .addOption(outboxOption())
    .addOption(waitOption())
    .action(async (file: string, options: CallerOptions & { batchSize: number, outbox?: string, wait: number }) => {
      const { events, csv } = await readStatusEvents(file)
      if (events.length === 0) throw new Error(`${file} holds no events`)
      const client = await clientFrom(options)
      const province = provinceOf(options.systemId)
      if (options.outbox) {
        const pushes = batchPushes('POST', `/v2/provinces/${province}/status-events`, 'events', events, options.batchSize)
        return sendThroughOutbox(client, options.outbox, pushes, options.wait)
      }
      const started = Date.now()
      const summary = await client.status.send(province, events, {
        batchSize: options.batchSize,
        onBatch: (sent, total) => process.stderr.write(`\rsent ${sent}/${total} events (${Math.round(sent / Math.max(0.001, (Date.now() - started) / 1000))}/s)`),
      })
      process.stderr.write('\n')
      print(`${events.length} events: ${summary.accepted} accepted, ${summary.duplicate} duplicate, ${summary.rejected} rejected in ${summary.receipts.length} batches`)
      for (const rejection of summary.rejections.slice(0, 50)) {
        const where = csv ? `line ${rejection.index + 2}` : `event ${rejection.index}`
        print(`${where}: ${rejection.reason}: ${rejection.message}${rejection.pointer ? ` (${rejection.pointer})` : ''}`)
      }
      if (summary.rejections.length > 50) print(`... and ${summary.rejections.length - 50} more rejected`)
      if (summary.rejected > 0) process.exitCode = 4
    })
  return status
}
