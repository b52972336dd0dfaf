import { InvalidArgumentError, Option } from 'commander'
import type { TtnClient } from '../client/client.js'
import { Outbox } from '../client/outbox.js'
import { provinceOfSystem } from '../client/system-id.js'
import { print } from './common.js'

export interface Push { method: 'PUT' | 'POST', path: string, body: unknown }

export const progress = (line: string) => process.stderr.write(`\r${line}`)

/** The province of a provincial system id (`province-79` is 79): the province its pushes are for. */
export const provinceOf = (systemId: string) => {
  const code = provinceOfSystem(systemId)
  if (!code) throw new Error(`${systemId} is not a provincial system id (province-<code>)`)
  return code
}

/** `items` cut into batches of `size`, one push each, with the body `{ [field]: batch }`. */
export function batchPushes(method: Push['method'], path: string, field: string, items: unknown[], size: number): Push[] {
  const pushes: Push[] = []
  for (let i = 0; i < items.length; i += size) pushes.push({ method, path, body: { [field]: items.slice(i, i + size) } })
  return pushes
}

/** `--batch-size`: how many items each call carries, 1 to `max`, `max` unless given. */
export const batchSizeOption = (max: number, items: string) => new Option('--batch-size <n>', `${items} per call, at most ${max}`)
  .argParser((value) => {
    const size = Number.parseInt(value, 10)
    if (!Number.isInteger(size) || size < 1 || size > max) throw new InvalidArgumentError(`--batch-size must be 1 to ${max}`)
    return size
  })
  .default(max)

export const outboxOption = () => new Option('--outbox <dir>', 'write pushes to this folder first and send them from there, in order, when the service is reachable')
export const waitOption = () => new Option('--wait <seconds>', 'with --outbox, how long to keep trying before leaving pushes waiting').argParser((v) => Number.parseInt(v, 10)).default(30)

/**
 * Sends pushes through the durable outbox in `dir`, after what already waits there, so a push
 * made while the service is unreachable waits on disk. Exits with 3 when some still wait, and
 * with 4 when the service refused a push or some entries of one (kept in `dir/rejected`).
 */
export async function sendThroughOutbox(client: TtnClient, dir: string, pushes: Push[], waitSeconds: number): Promise<void> {
  const outbox = await Outbox.open(dir, client.http)
  for (const push of pushes) await outbox.enqueue(push.method, push.path, push.body)
  let sent = 0
  const report = await outbox.drain({ patienceMs: waitSeconds * 1000, onSent: () => progress(`sent ${++sent}`) })
  if (sent > 0) process.stderr.write('\n')
  print(`${report.sent} sent, ${report.rejected} rejected, ${report.partlyRejected} sent with entries refused (see ${dir}/rejected), ${report.pending} waiting in ${dir}`)
  if (report.rejected > 0 || report.partlyRejected > 0) process.exitCode = 4
  if (report.pending > 0) {
    process.exitCode = 3
    print(`the service is unreachable; run \`ttn outbox send --outbox ${dir}\` later`)
  }
}
