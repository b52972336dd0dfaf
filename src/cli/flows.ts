import { readFile, writeFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import type { ReportFormName } from '../../schemas/reports.js'
import { Outbox } from '../client/outbox.js'
import type { TtnClient } from '../client/client.js'
import { clientFrom, print, withCallerOptions, type CallerOptions } from './common.js'
import { readRecords, type Entity } from './records.js'
import { summaryTable } from './summary-table.js'

const BATCH = 1000
const progress = (line: string) => process.stderr.write(`\r${line}`)

export const provinceOf = (systemId: string) => {
  const code = /^province-(\d{2})$/.exec(systemId)?.[1]
  if (!code) throw new Error(`${systemId} is not a provincial system id (province-<code>)`)
  return code
}

/** Sends through a durable outbox when one is named, so a push made while the service is unreachable waits on disk. */
async function sendAll(client: TtnClient, outboxDir: string | undefined, requests: { method: 'PUT' | 'POST', path: string, body: unknown }[], waitSeconds = 30): Promise<void> {
  if (!outboxDir) {
    let done = 0
    for (const request of requests) {
      await client.http.call(request.method, request.path, request.body)
      progress(`sent ${++done}/${requests.length}`)
    }
    if (requests.length > 0) process.stderr.write('\n')
    return
  }
  const outbox = await Outbox.open(outboxDir, client.http)
  for (const request of requests) await outbox.enqueue(request.method, request.path, request.body)
  let sent = 0
  const report = await outbox.drain({ patienceMs: waitSeconds * 1000, onSent: () => progress(`sent ${++sent}`) })
  if (sent > 0) process.stderr.write('\n')
  print(`${report.sent} sent, ${report.rejected} rejected (see ${outboxDir}/rejected), ${report.pending} waiting in ${outboxDir}`)
  if (report.pending > 0) {
    process.exitCode = 3
    print(`the service is unreachable; run \`ttn outbox send --outbox ${outboxDir}\` later`)
  }
}

const outboxOption = () => new Option('--outbox <dir>', 'write pushes to this folder first and send them from there, in order, when the service is reachable')
const waitOption = () => new Option('--wait <seconds>', 'with --outbox, how long to keep trying before leaving pushes waiting').argParser((v) => Number.parseInt(v, 10)).default(30)

export function flowCommands(): Command[] {
  const push = withCallerOptions(new Command('push'))
    .description('Push stations, clusters or boards of your province from a JSON or CSV file, in atomic batches of 1000.')
    .argument('<entity>', 'stations, clusters or boards')
    .argument('<file>', 'a JSON array (or {"items": [...]}), or CSV with a header line of field names (latitude, longitude, operatorName, operatorPhone, operatorEmail for the nested fields)')
    .addOption(outboxOption())
    .addOption(waitOption())
    .action(async (entity: string, file: string, options: CallerOptions & { outbox?: string, wait: number }) => {
      if (!['stations', 'clusters', 'boards'].includes(entity)) throw new Error(`${entity}: push stations, clusters or boards`)
      const records = await readRecords(entity as Entity, file)
      const province = provinceOf(options.systemId)
      const requests = []
      for (let i = 0; i < records.length; i += BATCH) {
        requests.push({ method: 'PUT' as const, path: `/v2/provinces/${province}/${entity}`, body: { items: records.slice(i, i + BATCH) } })
      }
      await sendAll(await clientFrom(options), options.outbox, requests, options.wait)
      if (!options.outbox) print(`${records.length} ${entity} pushed in ${requests.length} batches`)
    })

  const report = new Command('report').description('Periodic reports.')
  withCallerOptions(report.command('submit'))
    .description('Submit a report form of your province for a period; the answer says whether it was on time and lists cross-check warnings.')
    .argument('<period>', 'period id, e.g. 2026-H1')
    .argument('<form>', 'indicators, appendix-02 or appendix-03')
    .argument('<file>', 'the form as JSON')
    .addOption(outboxOption())
    .addOption(waitOption())
    .action(async (period: string, form: string, file: string, options: CallerOptions & { outbox?: string, wait: number }) => {
      if (!['indicators', 'appendix-02', 'appendix-03'].includes(form)) throw new Error(`${form}: the forms are indicators, appendix-02 and appendix-03`)
      const data = JSON.parse(await readFile(file, 'utf8')) as never
      const client = await clientFrom(options)
      const province = provinceOf(options.systemId)
      if (options.outbox) {
        await sendAll(client, options.outbox, [{ method: 'PUT', path: `/v2/provinces/${province}/reports/${period}/${form}`, body: data }], options.wait)
        return
      }
      const { submission } = await client.submitReport(province, period, form as ReportFormName, data)
      print(`version ${submission.version} of ${form} for ${period} received at ${submission.submittedAt}, ${submission.onTime ? 'on time' : 'LATE'}`)
      for (const warning of submission.warnings) print(`warning ${warning.pointer}: ${warning.message}`)
    })

  const outbox = new Command('outbox').description('The durable outbox of pushes waiting to be sent.')
  withCallerOptions(outbox.command('send'))
    .description('Send what waits in the outbox, in order.')
    .requiredOption('--outbox <dir>', 'the outbox folder')
    .addOption(waitOption())
    .action(async (options: CallerOptions & { outbox: string, wait: number }) => sendAll(await clientFrom(options), options.outbox, [], options.wait))

  const changes = new Command('changes').description('The registry changes feed.')
  withCallerOptions(changes.command('pull'))
    .description('Print registry changes as JSON lines from a cursor; with --cursor-file, resume from and save the position there.')
    .option('--after <cursor>', 'start after this cursor')
    .option('--cursor-file <file>', 'read the cursor from this file and write the new one back')
    .option('--province <code>', 'only this province')
    .option('--follow <ms>', 'keep polling every so many milliseconds', (v) => Number.parseInt(v, 10))
    .action(async (options: CallerOptions & { after?: string, cursorFile?: string, province?: string, follow?: number }) => {
      const client = await clientFrom(options)
      const after = options.after ?? (options.cursorFile ? (await readFile(options.cursorFile, 'utf8').catch(() => '')).trim() || undefined : undefined)
      let count = 0
      for await (const change of client.changes({
        after, province: options.province, followMs: options.follow,
        onCursor: (cursor) => (options.cursorFile ? writeFile(options.cursorFile, cursor + '\n') : undefined),
      })) {
        print(JSON.stringify(change))
        count++
      }
      process.stderr.write(`${count} changes\n`)
    })

  const summary = withCallerOptions(new Command('summary'))
    .description('Print the national summary (central), or one province\'s: a table by default, JSON with --json, CSV with --csv.')
    .option('--province <code>', 'one province\'s summary')
    .option('--period <id>', 'the report period for report states (default: the current one)')
    .addOption(new Option('--csv', 'CSV as the service sends it (UTF-8 with a byte-order mark)').conflicts('json'))
    .option('--json', 'the summary as JSON')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (options: CallerOptions & { province?: string, period?: string, csv?: boolean, json?: boolean, out?: string }) => {
      const client = await clientFrom(options)
      const text = options.csv
        ? await client.summaryCsv({ province: options.province, periodId: options.period })
        : await (async () => {
          const summary = options.province
            ? await client.provinceSummary(options.province, { periodId: options.period }).then(({ province, ...header }) => ({ ...header, provinces: [province], total: undefined }))
            : await client.nationalSummary({ periodId: options.period })
          return options.json ? JSON.stringify(summary, null, 2) + '\n' : summaryTable(summary)
        })()
      if (options.out) await writeFile(options.out, text)
      else process.stdout.write(text)
    })

  return [push, report, outbox, changes, summary]
}
