import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { projectPath } from '../../src/paths.js'
import { childEnv, compiledEntry } from '../helpers/child-env.js'
import { ttn } from '../helpers/cli.js'
import { cliTestbed } from '../helpers/cli-caller.js'
import { signedInject } from '../helpers/systems.js'

const { dir, app, central, hcm } = await cliTestbed(t, 'registry')

t.test('ttn registry lists and gets records, and its output redirected to a file is the data alone', async (t) => {
  const pushed = await signedInject(app, hcm, {
    method: 'PUT', url: '/v2/provinces/79/stations', body: { items: [
      { id: 'dai-1', communeCode: '26740', name: 'Đài Sài Gòn', kind: 'ip', status: 'operating' },
      { id: 'dai-2', communeCode: '26743', name: 'Đài Bến Thành', kind: 'fm', status: 'degraded' },
    ] },
  })
  t.equal(pushed.statusCode, 200, pushed.body)
  t.equal((await signedInject(app, hcm, { method: 'PUT', url: '/v2/provinces/79/boards', body: { items: [{ id: 'bang-1', communeCode: '26740', placement: 'outdoor', status: 'operating' }] } })).statusCode, 200)

  const stations = await ttn(['registry', 'stations', '--commune', '26743'], central.env)
  t.equal(stations.code, 0, stations.stderr)
  t.match(stations.stdout, /^province\s+id\s+commune\s+kind\s+status\s+name\n79\s+dai-2\s+26743\s+fm\s+degraded\s+Đài Bến Thành\n$/)
  const boards = await ttn(['registry', 'boards', '--json'], hcm.env)
  t.equal(boards.code, 0, boards.stderr)
  t.match(JSON.parse(boards.stdout), [{ id: 'bang-1', province: '79', placement: 'outdoor' }], 'a province lists its own')
  const elsewhere = await ttn(['registry', 'stations', '--province', '01', '--json'], central.env)
  t.same(JSON.parse(elsewhere.stdout), [])

  const got = await ttn(['registry', 'get', 'station', 'dai-1', '--province', '79'], central.env)
  t.equal(got.code, 0, got.stderr)
  t.match(JSON.parse(got.stdout), { id: 'dai-1', name: 'Đài Sài Gòn', version: 1 })
  t.match(JSON.parse((await ttn(['registry', 'get', 'board', 'bang-1'], hcm.env)).stdout), { id: 'bang-1' }, 'a province gets its own without --province')
  const wrongKind = await ttn(['registry', 'get', 'tower', 'x'], hcm.env)
  t.match(wrongKind.stderr, 'ttn: tower: the kinds are station, cluster and board')

  // As a shell redirect does: the command's standard output is the file itself.
  const out = join(dir, 'stations.json')
  const handle = await open(out, 'w')
  const child = spawn(process.execPath, [compiledEntry('src/cli/ttn.ts'), 'registry', 'stations', '--json'], {
    env: childEnv({ DATABASE_URL: undefined, LOG_LEVEL: 'silent', ...central.env }), cwd: projectPath(), stdio: ['ignore', handle.fd, 'ignore'],
  })
  const [code] = await once(child, 'exit') as [number]
  await handle.close()
  t.equal(code, 0)
  const written = await readFile(out, 'utf8')
  t.same((JSON.parse(written) as { id: string }[]).map((s) => s.id), ['dai-1', 'dai-2'], 'the file holds the JSON and nothing else')
  t.ok(written.startsWith('[') && written.endsWith(']\n'))
})
