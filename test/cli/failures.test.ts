import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { projectPath } from '../../src/paths.js'
import { ttn } from '../helpers/cli.js'
import { cliTestbed } from '../helpers/cli-caller.js'
import { bulletin } from '../helpers/content.js'

const { dir, database, address, central } = await cliTestbed(t, 'failures')

t.test('ttn --version prints the version of package.json', async (t) => {
  const { version } = JSON.parse(await readFile(projectPath('package.json'), 'utf8')) as { version: string }
  const answer = await ttn(['--version'])
  t.equal(answer.code, 0, answer.stderr)
  t.equal(answer.stdout, `${version}\n`)
})

t.test('a content file that is not JSON or does not fit the schema is named, with the line or the field', async (t) => {
  const file = join(dir, 'broken.json')
  await writeFile(file, '{\n  "title": "Tin",\n  "priority": normal\n}\n')
  const notJson = await ttn(['content', 'publish', file], central.env)
  t.equal(notJson.code, 1)
  t.match(notJson.stderr, `ttn: ${file}: line 3, column 16: not valid JSON: Unexpected token 'o'\n`)

  const contents = () => database.db.selectFrom('contents').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow()
  const before = await contents()
  await writeFile(file, JSON.stringify(bulletin({ priority: 'urgent', targets: 'everyone' })))
  const invalid = await ttn(['content', 'publish', file], central.env)
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, `ttn: ${file}: /priority must be one of normal, priority, emergency; /targets must be all; /targets must be array`)
  t.same(await contents(), before, 'nothing was sent')

  const badKey = await ttn(['content', 'publish', file], { ...central.env, TTN_KEY_FILE: file })
  t.match(badKey.stderr, `ttn: ${file}: a signing key must be a private JWK`, 'a key file that holds no key is named')

  const missing = await ttn(['content', 'publish', join(dir, 'nowhere.json')], central.env)
  t.equal(missing.code, 1)
  t.match(missing.stderr, /ttn: ENOENT: no such file or directory, open '.*nowhere\.json'/)
})

t.test('a refused call names the method, the URL, the status, the problem code and detail, and each failing field', async (t) => {
  const id = '5e0a7c3f-9b2d-4f18-a6e4-1c8d3b9f2a71'
  const notFound = await ttn(['content', 'get', id], central.env)
  t.equal(notFound.code, 1)
  t.equal(notFound.stderr, `ttn: GET ${address}/v2/contents/${id}: 404 not-found: content ${id} does not exist\n`)

  const unreachable = await ttn(['period', 'list', '--url', 'http://127.0.0.1:1'], central.env)
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /^ttn: GET http:\/\/127\.0\.0\.1:1\/v2\/report-periods: connect ECONNREFUSED/, 'an unreachable service is named by the URL called')

  const invalid = await ttn(['registry', 'stations', '--commune', 'x1', '--province', '79'], central.env)
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, new RegExp(`^ttn: GET ${address}/v2/stations\\?commune=x1&limit=1000&province=79: 400 validation-failed: query /commune: .*\\n  query /commune: `))
})
