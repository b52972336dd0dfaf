import { Command } from 'commander'
import type { Static } from 'typebox'
import type { SystemRegistration, SystemUpdate } from '../../schemas/systems.js'
import type { Jwks, PublicJwk } from '../../schemas/trust.js'
import { clientFrom, printJson, withCallerOptions, type CallerOptions } from './common.js'
import { readJsonFile } from './failure.js'


/** `ttn systems ...`: the system registry over HTTP, signed with a central-role key (or the system's own). */
export function systemsCommand(): Command {
  const systems = new Command('systems').description('The systems allowed to call the service, managed through its API with a signed call.')
  const sub = (name: string, description: string) => withCallerOptions(systems.command(name).description(description))

  sub('list', 'List registered systems (central).')
    .action(async (options: CallerOptions) => {
      const client = await clientFrom(options)
      let cursor: string | undefined
      do {
        const page = await client.listSystems(cursor ? { cursor, limit: 1000 } : { limit: 1000 })
        for (const s of page.items) process.stdout.write(`${s.id}\t${s.role}\t${s.provinceCode ?? '-'}\t${s.status}\t${s.keys.filter((k) => k.status === 'active').length} active keys\t${s.name}\n`)
        cursor = page.nextCursor ?? undefined
      } while (cursor)
    })

  sub('get', 'Show one system.').argument('<id>')
    .action(async (id: string, options: CallerOptions) => printJson(await (await clientFrom(options)).getSystem(id)))

  sub('register', 'Register a system from a JSON file holding a SystemRegistration (central).').argument('<file>')
    .action(async (file: string, options: CallerOptions) =>
      printJson(await (await clientFrom(options)).registerSystem(await readJsonFile<Static<typeof SystemRegistration>>(file))))

  sub('update', 'Change a system: name, webhook URL, JWKS URL.').argument('<id>')
    .option('--name <name>').option('--webhook-url <url>').option('--jwks-uri <url>')
    .action(async (id: string, options: CallerOptions & { name?: string, webhookUrl?: string, jwksUri?: string }) => {
      const update: Static<typeof SystemUpdate> = {
        ...(options.name ? { name: options.name } : {}),
        ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
        ...(options.jwksUri ? { jwksUri: options.jwksUri } : {}),
      }
      printJson(await (await clientFrom(options)).updateSystem(id, update))
    })

  for (const [name, status] of [['suspend', 'suspended'], ['activate', 'active']] as const) {
    sub(name, `Set a system ${status} (central).`).argument('<id>')
      .action(async (id: string, options: CallerOptions) => printJson(await (await clientFrom(options)).updateSystem(id, { status })))
  }

  sub('add-key', 'Add a public key from a JWK or JWKS file (the first key of a set).').argument('<id>').argument('<file>')
    .action(async (id: string, file: string, options: CallerOptions) => {
      const parsed = await readJsonFile<Static<typeof PublicJwk> | Static<typeof Jwks>>(file)
      const jwk = 'keys' in parsed ? parsed.keys[0]! : parsed
      printJson(await (await clientFrom(options)).addSystemKey(id, jwk))
    })

  sub('retire-key', 'Retire a key: it verifies nothing from then on.').argument('<id>').argument('<kid>')
    .action(async (id: string, kid: string, options: CallerOptions) => printJson(await (await clientFrom(options)).retireSystemKey(id, kid)))

  return systems
}
