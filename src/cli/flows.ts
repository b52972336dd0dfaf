import { writeFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import type { ReportFormName } from '../../schemas/reports.js'
import { clientFrom, feedOptions, print, withCallerOptions, withFeedOptions, type CallerOptions, type FeedCommandOptions } from './common.js'
import { batchPushes, outboxOption, progress, provinceOf, sendThroughOutbox, waitOption } from './pushes.js'
import { readRecords, type Entity } from './records.js'
import { readJsonFile } from './failure.js'
import { summaryTable } from './tables.js'

const BATCH = 1000

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
      const pushes = batchPushes('PUT', `/v2/provinces/${province}/${entity}`, 'items', records, BATCH)
      const client = await clientFrom(options)
      if (options.outbox) return sendThroughOutbox(client, options.outbox, pushes, options.wait)
      for (const [done, push] of pushes.entries()) {
        await client.http.call(push.method, push.path, push.body)
        progress(`sent ${done + 1}/${pushes.length}`)
      }
      if (pushes.length > 0) process.stderr.write('\n')
      print(`${records.length} ${entity} pushed in ${pushes.length} batches`)
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
      const data = await readJsonFile<never>(file)
      const client = await clientFrom(options)
      const province = provinceOf(options.systemId)
      if (options.outbox) return sendThroughOutbox(client, options.outbox, [{ method: 'PUT', path: `/v2/provinces/${province}/reports/${period}/${form}`, body: data }], options.wait)
      const { submission } = await client.submitReport(province, period, form as ReportFormName, data)
      print(`version ${submission.version} of ${form} for ${period} received at ${submission.submittedAt}, ${submission.onTime ? 'on time' : 'LATE'}`)
      for (const warning of submission.warnings) print(`warning ${warning.pointer}: ${warning.message}`)
    })

  const outbox = new Command('outbox').description('The durable outbox of pushes waiting to be sent.')
  withCallerOptions(outbox.command('send'))
    .description('Send what waits in the outbox, in order.')
    .requiredOption('--outbox <dir>', 'the outbox folder')
    .addOption(waitOption())
    .action(async (options: CallerOptions & { outbox: string, wait: number }) => sendThroughOutbox(await clientFrom(options), options.outbox, [], options.wait))

  const changes = new Command('changes').description('The registry changes feed.')
  withFeedOptions(withCallerOptions(changes.command('pull')))
    .description('Print registry changes as JSON lines from a cursor; with --cursor-file, resume from and save the position there.')
    .option('--province <code>', 'only this province')
    .action(async (options: CallerOptions & FeedCommandOptions & { province?: string }) => {
      const client = await clientFrom(options)
      let count = 0
      for await (const change of client.changes({ ...await feedOptions(options), province: options.province })) {
        print(JSON.stringify(change))
        count++
      }
      process.stderr.write(`${count} changes\n`)
    })

  const summary = withCallerOptions(new Command('summary'))
    .description('Print the national summary (central), or one province\'s: a table by default, JSON with --json, CSV with --csv; or write it as an xlsx workbook with --xlsx --out FILE.')
    .option('--province <code>', 'one province\'s summary')
    .option('--period <id>', 'the report period for report states (default: the current one)')
    .addOption(new Option('--csv', 'CSV as the service sends it (UTF-8 with a byte-order mark)').conflicts('json'))
    .option('--json', 'the summary as JSON')
    .addOption(new Option('--xlsx', 'an xlsx workbook as the service sends it; needs --out').conflicts(['json', 'csv']))
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (options: CallerOptions & { province?: string, period?: string, csv?: boolean, json?: boolean, xlsx?: boolean, out?: string }) => {
      if (options.xlsx && !options.out) throw new Error('--xlsx writes a workbook: name its file with --out')
      const client = await clientFrom(options)
      if (options.xlsx) return writeFile(options.out!, await client.summaryWorkbook({ province: options.province, periodId: options.period }))
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
