import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ExcelJS from 'exceljs'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { ttn } from '../helpers/cli.js'
import { SystemsStore } from '../../src/modules/systems/store.js'

const dir = await mkdtemp(join(tmpdir(), 'ttn-cli-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

/** The real app listening on loopback, with a central system whose key the CLI signs with. */
const { app, database } = await buildTestApp(t)
const address = await app.listen({ port: 0, host: '127.0.0.1' })

t.test('keys generate writes a private JWK and its public JWKS, and refuses to overwrite', async (t) => {
  const out = join(dir, 'central')
  const result = await ttn(['keys', 'generate', '--alg', 'EdDSA', '--out', out])
  t.equal(result.code, 0, result.stderr)
  const privateJwk = JSON.parse(await readFile(join(out, 'private.jwk.json'), 'utf8'))
  const publicJwks = JSON.parse(await readFile(join(out, 'public.jwks.json'), 'utf8'))
  t.match(privateJwk, { kty: 'OKP', crv: 'Ed25519', d: String, kid: String })
  t.same(publicJwks.keys.map((k: { kid: string }) => k.kid), [privateJwk.kid])
  t.notOk('d' in publicJwks.keys[0], 'the public set has no private part')
  const again = await ttn(['keys', 'generate', '--out', out])
  t.equal(again.code, 1)
  t.match(again.stderr, /exists/)
})

t.test('ttn systems registers, lists and suspends over the API, signing with a central key', async (t) => {
  const centralDir = join(dir, 'operator')
  await ttn(['keys', 'generate', '--out', centralDir])
  const publicJwks = JSON.parse(await readFile(join(centralDir, 'public.jwks.json'), 'utf8'))
  await new SystemsStore(database.db).register({ id: 'ops-console', role: 'central', name: 'Operators', jwks: publicJwks }, database.db)
  const env = { TTN_URL: address, TTN_SYSTEM_ID: 'ops-console', TTN_KEY_FILE: join(centralDir, 'private.jwk.json') }

  const provinceDir = join(dir, 'province-79')
  await ttn(['keys', 'generate', '--out', provinceDir])
  const registration = join(dir, 'province-79.json')
  await writeFile(registration, JSON.stringify({
    id: 'province-79', role: 'province', provinceCode: '79', name: 'HTTTN TP. Hồ Chí Minh',
    jwks: JSON.parse(await readFile(join(provinceDir, 'public.jwks.json'), 'utf8')),
  }))
  const registered = await ttn(['systems', 'register', registration], env)
  t.equal(registered.code, 0, registered.stderr)
  t.match(JSON.parse(registered.stdout), { system: { id: 'province-79', status: 'active' }, receipt: { jws: String } })

  const list = await ttn(['systems', 'list'], env)
  t.match(list.stdout, /^ops-console\tcentral\t-\tactive\t1 active keys\tOperators$/m)
  t.match(list.stdout, /^province-79\tprovince\t79\tactive\t1 active keys\tHTTTN TP\. Hồ Chí Minh$/m)

  const suspended = await ttn(['systems', 'suspend', 'province-79'], env)
  t.equal(JSON.parse(suspended.stdout).system.status, 'suspended')

  const asProvince = await ttn(['systems', 'get', 'province-79'], { ...env, TTN_SYSTEM_ID: 'province-79', TTN_KEY_FILE: join(provinceDir, 'private.jwk.json') })
  t.equal(asProvince.code, 1)
  t.match(asProvince.stderr, /403 issuer-suspended/)

  const noKey = await ttn(['systems', 'list'], { TTN_URL: address, TTN_SYSTEM_ID: 'ops-console' })
  t.equal(noKey.code, 1)
  t.match(noKey.stderr, /--key <file>.*not specified/)
})

t.test('ttn token prints a call token that the service accepts once', async (t) => {
  const keys = join(dir, 'province-01')
  await ttn(['keys', 'generate', '--out', keys])
  const jwks = JSON.parse(await readFile(join(keys, 'public.jwks.json'), 'utf8'))
  await new SystemsStore(database.db).register({ id: 'province-01', role: 'province', provinceCode: '01', name: 'Hà Nội', jwks }, database.db)
  const keyFile = join(keys, 'private.jwk.json')
  const body = JSON.stringify({ name: 'HTTTN Hà Nội' })
  const bodyFile = join(dir, 'body.json')
  await writeFile(bodyFile, body)
  const token = await ttn(['token', '--system-id', 'province-01', '--key', keyFile, '--method', 'PATCH', '--path', '/v2/systems/province-01', '--body-file', bodyFile])
  t.equal(token.code, 0, token.stderr)
  const call = () => fetch(`${address}/v2/systems/province-01`, {
    method: 'PATCH', body, headers: { authorization: `Bearer ${token.stdout.trim()}`, 'content-type': 'application/json' },
  })
  t.equal((await call()).status, 200)
  const replay = await call()
  t.equal(replay.status, 401)
  t.equal((await replay.json() as { code: string }).code, 'token-replayed')
})

t.test('ttn summary prints the national summary as a table, JSON or CSV, and one province\'s', async (t) => {
  const keys = join(dir, 'summary-reader')
  await ttn(['keys', 'generate', '--out', keys])
  await new SystemsStore(database.db).register({ id: 'summary-reader', role: 'central', name: 'Dashboards', jwks: JSON.parse(await readFile(join(keys, 'public.jwks.json'), 'utf8')) }, database.db)
  const env = { TTN_URL: address, TTN_SYSTEM_ID: 'summary-reader', TTN_KEY_FILE: join(keys, 'private.jwk.json') }

  const table = await ttn(['summary', '--period', '2030-Y'], env)
  t.equal(table.code, 0, table.stderr)
  t.match(table.stdout, /^summary at \S+, report period 2030-Y$/m)
  t.match(table.stdout, /^province\s+stations\s+IP %/m)
  t.match(table.stdout, /^79 Hồ Chí Minh\s+\d+/m)
  t.match(table.stdout, /^Toàn quốc\s+\d+/m)

  const json = JSON.parse((await ttn(['summary', '--json'], env)).stdout)
  t.equal(json.provinces.length, 34)

  const csvFile = join(dir, 'summary.csv')
  t.equal((await ttn(['summary', '--csv', '--province', '79', '--out', csvFile], env)).code, 0)
  const csv = await readFile(csvFile, 'utf8')
  t.ok(csv.startsWith('\uFEFF"period","generatedAt","province","name","stations.total"'), 'the CSV as the service sent it')
  t.match(csv, /\r\n"[^"]*","[^"]+","79","Hồ Chí Minh",/)

  const both = await ttn(['summary', '--csv', '--json'], env)
  t.equal(both.code, 1)
  t.match(both.stderr, /cannot be used with/)

  const xlsxFile = join(dir, 'summary.xlsx')
  const xlsx = await ttn(['summary', '--xlsx', '--period', '2030-Y', '--out', xlsxFile], env)
  t.equal(xlsx.code, 0, xlsx.stderr)
  const workbook = new ExcelJS.Workbook()
  await workbook.xlsx.readFile(xlsxFile)
  const sheet = workbook.worksheets[0]!
  t.equal(sheet.name, 'Tổng hợp toàn quốc', 'the workbook as the service sent it')
  const codes: unknown[] = []
  sheet.eachRow((row) => { codes.push(row.getCell(1).value) })
  t.ok(codes.includes('01') && codes.includes('79'), 'province codes as text')
  const unnamed = await ttn(['summary', '--xlsx'], env)
  t.equal(unnamed.code, 1)
  t.match(unnamed.stderr, /--out/, 'a workbook is not for the terminal')
})
