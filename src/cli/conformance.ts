import { randomInt } from 'node:crypto'
import { Command, InvalidArgumentError, Option } from 'commander'
import { readSigningKey } from '../client/keys.js'
import type { CheckLog } from '../conformance/report.js'
import type { Progress } from '../conformance/runner.js'
import { projectPath } from '../paths.js'
import { print } from './common.js'

interface ConformanceOptions {
  target?: string
  webhook?: string
  systemId: string
  key: string
  centralSystemId?: string
  centralKey?: string
  serviceId?: string
  audience: string
  contract: string
  seed: number
  runs: number
  junit?: string
  html?: string
  operation?: string[]
  mediaHost: string
  cleanup?: boolean
  settle: number
}

const integer = (min: number) => (value: string) => {
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed) || parsed < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`)
  return parsed
}

export function conformanceCommand(): Command {
  return new Command('conformance')
    .description([
      'Test a server (--target) or a provincial webhook receiver (--webhook) against the OpenAPI contract.',
      'A scenario first makes what operations need (stations, content, uploads, report periods) and every operation must get a',
      'success answer with its declared body, headers and a receipt that verifies. Then every operation gets requests generated',
      'from its schemas (reproducible with --seed): valid ones must',
      'get a declared status, content type and body; invalid ones (wrong types, missing or unknown fields, values over the',
      'limits, malformed JSON) a 4xx problem document; calls without a valid token and the trust-model token attacks 401 or',
      '403; nothing a 5xx. A receiver must accept valid signed notifications and refuse forged, expired, replayed,',
      'misaddressed and altered ones. Prints a summary, optionally writes JUnit XML, and exits 0 only if every check passed.',
    ].join(' '))
    .option('--target <url>', 'base URL of the server under test')
    .option('--webhook <url>', 'URL of the webhook receiver under test')
    .addOption(new Option('--system-id <id>', 'with --target: a provincial system (province-NN) to call as; with --webhook: the receiving system (aud)').env('TTN_SYSTEM_ID').makeOptionMandatory())
    .addOption(new Option('--key <file>', 'with --target: that system\'s private JWK; with --webhook: the service\'s private JWK').env('TTN_KEY_FILE').makeOptionMandatory())
    .option('--central-system-id <id>', 'a central-role system, for the operations reserved to central')
    .option('--central-key <file>', 'its private JWK')
    .addOption(new Option('--service-id <id>', 'with --webhook: the service\'s SERVICE_ID, the iss of its calls').default('ttn-central'))
    .addOption(new Option('--audience <id>', 'with --target: the server\'s SERVICE_ID, the aud of call tokens').env('TTN_AUDIENCE').default('ttn-central'))
    .option('--contract <file>', 'the OpenAPI document to test against', projectPath('openapi', 'openapi.json'))
    .option('--seed <n>', 'seed of the generated requests; the summary prints the one used so a run can be repeated', integer(0))
    .option('--runs <n>', 'valid requests generated per operation (notifications per webhook)', integer(1), 10)
    .option('--junit <file>', 'also write the results as JUnit XML to this file')
    .option('--html <file>', 'also write a report to hand in as evidence: the run, and per operation each check with the failing requests and answers')
    .option('--operation <id...>', 'with --target: check only these operations (operationId); what they need is still made first')
    .option('--settle <seconds>', 'with --target: how long to keep asking for what the target makes in the background (a checkpoint)', integer(1), 60)
    .option('--cleanup', 'with --target: at the end, delete, withdraw, suspend or cancel what the run wrote, where the API has a way back')
    .option('--media-host <address>', 'with --target: the address of this machine the target fetches a media file from (registerExternalMedia)', '127.0.0.1')
    .action(async (options: ConformanceOptions) => {
      if (!options.target === !options.webhook) throw new Error('give exactly one of --target URL or --webhook URL')
      if (!options.centralSystemId !== !options.centralKey) throw new Error('--central-system-id and --central-key go together')
      const [{ Contract }, { ApiConformance, Unreachable }, { checkWebhookReceiver }] = await Promise.all([
        import('../conformance/contract.js'), import('../conformance/runner.js'), import('../conformance/webhook.js'),
      ])
      const contract = await Contract.read(options.contract)
      const seed = options.seed ?? randomInt(2 ** 31)
      const startedAt = new Date()
      const key = await readSigningKey(options.key)
      let log: CheckLog
      let title: string
      if (options.target) {
        title = `conformance of ${options.target} to ${options.contract} (seed ${seed}, ${options.runs} runs)`
        const kit = new ApiConformance({
          target: options.target,
          contract,
          province: { systemId: options.systemId, key },
          central: options.centralSystemId ? { systemId: options.centralSystemId, key: await readSigningKey(options.centralKey!) } : undefined,
          audience: options.audience,
          seed,
          runs: options.runs,
          operations: options.operation?.flatMap((list) => list.split(',')),
          mediaHost: options.mediaHost,
          cleanup: options.cleanup,
          settleSeconds: options.settle,
          onProgress: reportProgress(),
        })
        try {
          log = await kit.run()
        } catch (error) {
          if (!(error instanceof Unreachable)) throw error
          process.stderr.write(`ttn conformance: ${error.message}\n`)
          process.exitCode = 2
          return
        }
      } else {
        title = `conformance of webhook receiver ${options.webhook} to ${options.contract} (seed ${seed})`
        log = await checkWebhookReceiver({
          url: options.webhook!, contract, serviceId: options.serviceId!, serviceKey: key, systemId: options.systemId, seed, runs: options.runs,
        })
      }
      process.stdout.write(log.summary(title))
      if (options.junit) {
        log.writeJunit(options.junit, 'ttn conformance')
        print(`JUnit XML written to ${options.junit}`)
      }
      if (options.html) {
        log.writeHtml(options.html, {
          title, target: options.target ?? options.webhook!, contract: options.contract, contractVersion: String(contract.document.info?.version ?? 'unknown'), seed, startedAt,
        })
        print(`HTML report written to ${options.html}`)
      }
      if (!log.passed) process.exitCode = 1
    })
}

/** Progress on standard error, so the summary on standard output stays what it was: at most one line every two seconds, and each phase's end. */
function reportProgress(): (progress: Progress) => void {
  let last = 0
  return (progress) => {
    const now = Date.now()
    if (now - last < 2000 && progress.done !== progress.total) return
    last = now
    process.stderr.write(`ttn conformance: ${progress.phase} ${progress.done}/${progress.total}, ${progress.requests} requests, ${progress.failing} failing checks\n`)
  }
}
