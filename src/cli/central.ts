import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { Command, Option } from 'commander'
import type { Static } from 'typebox'
import { ContentRequest, ContentStatus } from '../../schemas/content.js'
import { ReportFormName } from '../../schemas/reports.js'
import type { TtnClient } from '../client/client.js'
import { path } from '../client/paging.js'
import { provinceOfSystem } from '../client/system-id.js'
import { clientFrom, print, printJson, withCallerOptions, type CallerOptions } from './common.js'
import { readJsonFile } from './failure.js'
import { table } from './tables.js'

type Entity = 'stations' | 'clusters' | 'boards'
const ENTITIES: Entity[] = ['stations', 'clusters', 'boards']
const BUILT_IN_FORMS: readonly string[] = ReportFormName.enum

/** The command `name` of `parent`, made when no other module made it yet. */
function subcommand(parent: Command, name: string, description: string): Command {
  return parent.commands.find((command) => command.name() === name) ?? parent.command(name).description(description)
}

/** Uploads each media file and adds it, by hash, to the content read from `file`. */
async function contentWithMedia(client: TtnClient, file: string, mediaFiles: string[]): Promise<Static<typeof ContentRequest>> {
  const content = await readJsonFile<Static<typeof ContentRequest>>(file, ContentRequest)
  const media = [...content.media ?? []]
  for (const mediaFile of mediaFiles) {
    const upload = await client.uploadMedia(await readFile(mediaFile), { fileName: basename(mediaFile) })
      .catch((error: Error) => { throw new Error(`${mediaFile}: ${error.message}`) })
    process.stderr.write(`${mediaFile}: stored as ${upload.sha256} (${upload.media!.mimeType}, ${upload.bytes} bytes)\n`)
    media.push({ sha256: upload.sha256 })
  }
  return { ...content, ...(media.length ? { media } : {}) }
}

const collect = (value: string, previous: string[]) => [...previous, value]

function contentCommand(): Command {
  const content = new Command('content').description('Essential content central publishes to provinces (thông tin thiết yếu).')
  const sub = (name: string, description: string) => withCallerOptions(content.command(name).description(description))

  sub('publish', 'Publish essential content from a JSON file (a ContentRequest); media files are uploaded first and added to it.')
    .argument('<file>', 'the content as JSON')
    .option('--media <file>', 'an audio, video or image file to upload and attach (repeatable)', collect, [])
    .action(async (file: string, options: CallerOptions & { media: string[] }) => {
      const client = await clientFrom(options)
      printJson(await client.publishContent(await contentWithMedia(client, file, options.media)))
    })

  sub('update', 'Publish a new version of a content item from a JSON file (a ContentRequest).')
    .argument('<id>').argument('<file>', 'the new version as JSON')
    .option('--media <file>', 'an audio, video or image file to upload and attach (repeatable)', collect, [])
    .action(async (id: string, file: string, options: CallerOptions & { media: string[] }) => {
      const client = await clientFrom(options)
      printJson(await client.updateContent(id, await contentWithMedia(client, file, options.media)))
    })

  sub('withdraw', 'Withdraw a content item: provinces are told not to broadcast it any more.')
    .argument('<id>')
    .option('--reason <text>', 'why it is withdrawn, which provinces see', 'withdrawn by central')
    .action(async (id: string, options: CallerOptions & { reason: string }) => printJson(await (await clientFrom(options)).withdrawContent(id, options.reason)))

  sub('get', 'Show a content item.').argument('<id>')
    .action(async (id: string, options: CallerOptions) => printJson(await (await clientFrom(options)).getContent(id)))

  sub('list', 'List content items, newest first: a table, or JSON with --json.')
    .addOption(new Option('--status <status>', 'only items in this state').choices(ContentStatus.enum))
    .option('--topic <id>', 'only items of this topic')
    .option('--json', 'a JSON array of the items')
    .action(async (options: CallerOptions & { status?: Static<typeof ContentStatus>, topic?: string, json?: boolean }) => {
      const items = []
      for await (const item of (await clientFrom(options)).contents({ status: options.status, topic: options.topic, limit: 1000 })) items.push(item)
      if (options.json) return printJson(items)
      process.stdout.write(table(['id', 'version', 'status', 'priority', 'topic', 'valid from', 'title'],
        items.map((i) => [i.id, i.version, i.status, i.priority, i.topic, i.validFrom, i.title])))
    })

  sub('deliveries', 'Where each target province stands with a content item: webhook delivery and acknowledgement, as a table or JSON with --json.')
    .argument('<id>')
    .option('--json', 'the delivery report as JSON')
    .action(async (id: string, options: CallerOptions & { json?: boolean }) => {
      const report = await (await clientFrom(options)).contentDeliveries(id)
      if (options.json) return printJson(report)
      process.stdout.write(table(['province', 'system', 'webhook', 'notifications', 'acknowledged'],
        report.provinces.map((p) => [p.province, p.systemId, p.webhook, p.notifications.length, p.acknowledgedAt])))
    })

  return content
}

function reportReview(program: Command): void {
  withCallerOptions(subcommand(program, 'report', 'Periodic reports.').command('review'))
    .description('Accept or return the latest version of a province\'s report form for a period (central); returning needs --comment.')
    .argument('<period>', 'period id, e.g. 2026-H1')
    .argument('<province>', 'province code, e.g. 79')
    .argument('<form>', `${BUILT_IN_FORMS.join(', ')}, or a form central defined for the period`)
    .addOption(new Option('--accept', 'accept the version').conflicts('return'))
    .option('--return', 'return the version to the province')
    .option('--comment <text>', 'what the province should change (needed to return)')
    .action(async (period: string, province: string, form: string, options: CallerOptions & { accept?: boolean, return?: boolean, comment?: string }) => {
      if (!options.accept && !options.return) throw new Error('say --accept or --return')
      const client = await clientFrom(options)
      const formPath = BUILT_IN_FORMS.includes(form) ? path`/v2/provinces/${province}/reports/${period}/${form}` : path`/v2/provinces/${province}/reports/${period}/forms/${form}`
      const { latest } = await client.http.call<{ latest: { version: number } | null }>('GET', formPath)
      if (!latest) throw new Error(`province ${province} has submitted no ${form} for ${period}`)
      const decision = { decision: options.accept ? 'accept' : 'return', ...(options.comment ? { comment: options.comment } : {}) } as const
      const { submission } = await client.http.call<{ submission: { version: number, review?: unknown } }>('POST', `${formPath}/versions/${latest.version}/review`, decision)
      print(`version ${submission.version} of ${form} of province ${province} for ${period} ${options.accept ? 'accepted' : 'returned'}`)
    })
}

function periodCommand(): Command {
  const period = new Command('period').description('Report periods (kỳ báo cáo).')
  withCallerOptions(period.command('list'))
    .description('List the report periods of a year, by due date: a table, or JSON with --json.')
    .option('--year <year>', 'the year (default: the service\'s current one)', (v) => Number.parseInt(v, 10))
    .option('--json', 'the periods as JSON')
    .action(async (options: CallerOptions & { year?: number, json?: boolean }) => {
      const { items } = await (await clientFrom(options)).reportPeriods(options.year)
      if (options.json) return printJson(items)
      process.stdout.write(table(['period', 'kind', 'due on', 'forms', 'title'], items.map((p) => [p.id, p.kind, p.dueOn, [...p.forms, ...p.customForms.map((f) => f.name)].join(','), p.title])))
    })

  withCallerOptions(period.command('status'))
    .description('Each province\'s state for each form of a period (central): a table, or JSON with --json.')
    .argument('<period>', 'period id, e.g. 2026-H1')
    .option('--json', 'the status as JSON')
    .action(async (id: string, options: CallerOptions & { json?: boolean }) => {
      const status = await (await clientFrom(options)).reportStatus(id)
      if (options.json) return printJson(status)
      const forms = [...new Set(status.provinces.flatMap((p) => p.forms.map((f) => f.form)))]
      print(`${status.period.id} ${status.period.title}, due on ${status.period.dueOn}`)
      process.stdout.write(table(['province', ...forms], status.provinces.map((p) => [p.province, ...forms.map((form) => {
        const state = p.forms.find((f) => f.form === form)
        return state ? `${state.status}${state.version ? ` v${state.version}` : ''}` : '-'
      })])))
    })
  return period
}

const COLUMNS: Record<Entity, { header: string[], cells: (record: Record<string, unknown>) => unknown[] }> = {
  stations: { header: ['kind', 'status', 'name'], cells: (r) => [r.kind, r.status, r.name] },
  clusters: { header: ['station', 'kind', 'status', 'village'], cells: (r) => [r.stationId, r.kind, r.status, r.village] },
  boards: { header: ['placement', 'status'], cells: (r) => [r.placement, r.status] },
}

function registryCommand(): Command {
  const registry = new Command('registry').description('Read the registry of stations, loudspeaker clusters and bulletin boards.')
  for (const entity of ENTITIES) {
    withCallerOptions(registry.command(entity))
      .description(`List ${entity}: every province's (central), or your own province's; a table, or JSON with --json.`)
      .option('--province <code>', 'only this province')
      .option('--commune <code>', 'only this commune')
      .option('--json', 'a JSON array of the records')
      .action(async (options: CallerOptions & { province?: string, commune?: string, json?: boolean }) => {
        const client = await clientFrom(options)
        const filter = { ...(options.commune ? { commune: options.commune } : {}), limit: 1000 }
        const own = provinceOfSystem(options.systemId)
        const records = own
          ? client.records(entity, options.province ?? own, filter)
          : client.nationalRecords(entity, { ...filter, ...(options.province ? { province: options.province } : {}) })
        const items: Record<string, unknown>[] = []
        for await (const record of records) items.push(record as Record<string, unknown>)
        if (options.json) return printJson(items)
        process.stdout.write(table(['province', 'id', 'commune', ...COLUMNS[entity].header],
          items.map((r) => [r.province, r.id, r.communeCode, ...COLUMNS[entity].cells(r)])))
      })
  }
  withCallerOptions(registry.command('get'))
    .description('Show one station, cluster or board as JSON.')
    .argument('<kind>', 'station, cluster or board')
    .argument('<id>', 'the province\'s id of the record')
    .option('--province <code>', 'the province (default: that of --system-id)')
    .action(async (kind: string, id: string, options: CallerOptions & { province?: string }) => {
      const entity = `${kind}s` as Entity
      if (!ENTITIES.includes(entity)) throw new Error(`${kind}: the kinds are station, cluster and board`)
      const province = options.province ?? provinceOfSystem(options.systemId)
      if (!province) throw new Error(`name the province with --province: ${options.systemId} is not a provincial system`)
      printJson((await (await clientFrom(options)).getRecord(entity, province, id)).record)
    })
  return registry
}

/** Central's daily commands: content, report review, periods, the registry. */
export function addCentralCommands(program: Command): void {
  program.addCommand(contentCommand())
  reportReview(program)
  program.addCommand(periodCommand())
  program.addCommand(registryCommand())
}
