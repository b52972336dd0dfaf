import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import t from 'tap'
import { TtnClient } from '../../src/client/client.js'
import { generateKey, importSigningKey } from '../../src/client/keys.js'
import { startConsole } from '../../src/console/server.js'
import { DEMO_PROVINCES, playDemoDay } from '../../src/demo/day.js'
import { projectPath } from '../../src/paths.js'
import type { PublicJwk } from '../../schemas/trust.js'
import { buildTestApp } from '../helpers/app.js'
import { childEnv, compiledEntry } from '../helpers/child-env.js'
import { registerSystem } from '../helpers/systems.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

/** Each wait of the browser may take a sixth of what the whole file may (TAP_TIMEOUT): a busy machine slows both alike. */
const WAIT_MS = Math.max(10, Number(process.env.TAP_TIMEOUT ?? 180) / 6) * 1000
const ARTIFACTS = projectPath('test-artifacts', 'console')
const AXE = projectPath('node_modules', 'axe-core', 'axe.min.js')

// The service on a database of its own, loaded by the demo's day: three provinces and an emergency bulletin.
const { app, database } = await buildTestApp(t)
const serviceUrl = await app.listen({ host: '127.0.0.1', port: 0 })
const keys = new Map<string, Awaited<ReturnType<typeof importSigningKey>>>()
const provinceKeyDir = await mkdtemp(join(tmpdir(), 'ttn-console-'))
t.teardown(() => rm(provinceKeyDir, { recursive: true, force: true }))
for (const id of ['central-portal', ...DEMO_PROVINCES.map((p) => `province-${p.code}`)]) {
  const { privateJwk, publicJwk } = await generateKey()
  await registerSystem(database, id, { extra: { jwks: { keys: [publicJwk as PublicJwk] } } })
  keys.set(id, await importSigningKey(privateJwk))
  if (id === 'province-79') await writeFile(join(provinceKeyDir, 'private.jwk.json'), JSON.stringify(privateJwk), { mode: 0o600 })
}
const client = (id: string) => new TtnClient({ baseUrl: serviceUrl, systemId: id, key: keys.get(id)! })
await playDemoDay({ client, centralId: 'central-portal', say: () => {} })

const central = await startConsole({ client: client('central-portal'), port: 0 })
t.teardown(() => central.close())

/** The province's console through the real `ttn console` command, as an official of province 79 starts it. */
async function startProvinceConsole(): Promise<string> {
  const child = spawn(process.execPath, [compiledEntry('src/cli/ttn.ts'), 'console', '--port', '0',
    '--url', serviceUrl, '--system-id', 'province-79', '--key', join(provinceKeyDir, 'private.jwk.json')], { env: childEnv(), cwd: projectPath() })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGTERM') })
  let output = ''
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1]
      if (url) resolve(url)
    })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk })
    child.on('exit', (code) => reject(new Error(`ttn console exited with ${code}:\n${output}`)))
  })
}
const provinceUrl = await startProvinceConsole()

await mkdir(ARTIFACTS, { recursive: true })
const browser: Browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'], timeout: WAIT_MS,
})
t.teardown(() => browser.close())
// axe is injected into the pages as a script of the test's own, which the console's Content-Security-Policy would refuse.
const browserContext = await browser.newContext({ bypassCSP: true })
const page: Page = await browserContext.newPage()
page.setDefaultTimeout(WAIT_MS)
const requested: string[] = []
page.on('request', (r) => { requested.push(r.url()) })

/** Serious and critical accessibility violations axe finds on the page as it is now. */
async function seriousViolations(): Promise<string[]> {
  await page.addScriptTag({ path: AXE })
  const results = await page.evaluate(async () => (globalThis as unknown as { axe: { run: () => Promise<{ violations: { id: string, impact: string, nodes: unknown[] }[] }> } }).axe.run())
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`)
}

const screenshot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })

/** A raw request to a console, with headers a browser on another site (or a rebound DNS name) would send. */
function rawGet(base: string, path: string, headers: OutgoingHttpHeaders = {}, method = 'GET') {
  const { hostname, port } = new URL(base)
  return new Promise<{ status: number, type: string, body: string }>((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method, headers }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('the national map: 34 tiles with their values in Vietnamese, a colour choice, a legend and the table behind it', async (t) => {
  await page.goto(central.url)
  t.equal(await page.getAttribute('html', 'lang'), 'vi')
  t.equal(await page.textContent('h1'), 'Bản đồ 34 tỉnh, thành phố')
  t.equal(await page.locator('.tiles a.tile').count(), 34, 'one tile per province of 2025')
  const hcm = page.locator('a.tile[data-province="79"]')
  t.match(await hcm.textContent(), /Hồ Chí Minh\s*\d+(,\d)?% \(\d+\/\d+\)/, 'the tile says its share online in text')
  t.match(await page.locator('a.tile[data-province="04"]').textContent(), /Cao Bằng\s*Không có số liệu/, 'a province without devices says so')
  t.equal(await page.locator('.legend li').count(), 4)
  t.equal(await page.locator('table tbody tr').count(), 34, 'the figures behind the map, as a table')
  t.same(await seriousViolations(), [], 'no serious or critical accessibility violation')
  await screenshot('map-online')

  await page.getByRole('link', { name: 'Xác nhận tin khẩn cấp' }).click()
  await page.waitForURL(/colour=emergency/)
  t.equal(await page.getAttribute('.colour-switch a[aria-current="true"]', 'href'), '/?colour=emergency')
  t.match(await hcm.textContent(), /Đã xác nhận: \d+(,\d)? giây/, 'the province that acknowledged, and how fast')
  t.ok(await hcm.evaluate((el) => el.classList.contains('band-good')))
  t.match(await page.locator('a.tile[data-province="04"]').textContent(), /Chưa xác nhận/)
  t.match(await page.textContent('main'), /Cảnh báo bão số 5/, 'the emergency the colours are for')
  await screenshot('map-emergency')

  await page.getByRole('link', { name: 'Tình trạng báo cáo kỳ này' }).click()
  await page.waitForURL(/colour=reports/)
  t.match(await page.locator('a.tile[data-province="04"]').textContent(), /Chưa gửi/, 'a province that sent nothing is missing')
})

t.test('the keyboard reaches the tiles with Tab, and Enter opens a province', async (t) => {
  await page.goto(central.url)
  let focused: string | null = null
  for (let presses = 0; presses < 40 && !focused; presses++) {
    await page.keyboard.press('Tab')
    focused = await page.locator(':focus').getAttribute('data-province')
  }
  t.equal(focused, '12', 'the first tile, north-west, is reached by Tab')
  const outline = await page.locator(':focus').evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).outlineStyle)
  t.equal(outline, 'solid', 'the focused tile shows a focus ring')
  await page.keyboard.press('Enter')
  await page.waitForURL(/\/provinces\/12$/)
  t.match(await page.textContent('h1'), /Lai Châu \(12\)/)
})

t.test('a province page: stations and clusters, devices down and since when, the period\'s reports, content', async (t) => {
  await page.goto(new URL('/provinces/79', central.url).href)
  t.equal(await page.textContent('h1'), 'Hồ Chí Minh (79)')
  t.match(await page.textContent('#stations-title'), /\(6\)/)
  t.match(await page.textContent('#clusters-title'), /\(30\)/)
  const down = await page.locator('section[aria-labelledby="down-title"] tbody tr').count()
  t.ok(down > 0, `devices down are listed (${down})`)
  t.match(await page.textContent('section[aria-labelledby="down-title"]'), /Mất kết nối|Sự cố|Mất liên lạc/)
  const since = await page.locator('section[aria-labelledby="down-title"] tbody td:nth-child(4)').allTextContents()
  t.ok(since.length === down && since.every((cell) => /\d{2}:\d{2}/.test(cell)), 'each says since when it is down')
  t.match(await page.textContent('section[aria-labelledby="reports-title"]'), /Biểu mẫu Số liệu chỉ tiêu: Đã gửi đúng hạn/, 'the report the demo submitted')
  t.match(await page.textContent('section[aria-labelledby="overview-title"]'), /Đã xác nhận\s*1/, 'the bulletin acknowledged')
  t.same(await seriousViolations(), [])
  await screenshot('province-79')
})

t.test('the trends: four charts of 90 days, with their figures in a table', async (t) => {
  await page.goto(new URL('/trends', central.url).href)
  t.equal(await page.locator('figure.chart svg[role="img"]').count(), 4)
  t.equal(await page.locator('main table tbody tr').count(), 90)
  t.ok(await page.locator('#airtime-title + svg rect').count() >= 1, 'the demo\'s airtime is drawn')
  t.same(await seriousViolations(), [])
  await screenshot('trends-national')
  await page.goto(new URL('/trends?province=48', central.url).href)
  t.match(await page.textContent('h1'), /Đà Nẵng/)
})

t.test('the emergency board: the bulletin, which provinces acknowledged and how fast', async (t) => {
  await page.goto(new URL('/emergencies', central.url).href)
  t.equal(await page.textContent('main h2'), 'Cảnh báo bão số 5')
  t.match(await page.textContent('main'), /Tỉnh đã xác nhận: 3\/34/)
  const first = page.locator('main tbody tr').first()
  t.ok(await first.evaluate((row) => row.classList.contains('acknowledged')), 'the fastest acknowledgements come first')
  t.equal(await page.locator('main tbody tr.acknowledged').count(), 3)
  t.match(await page.textContent('main tbody'), /Hồ Chí Minh \(79\)/, 'provinces by name and code')
  t.same(await seriousViolations(), [])
  await screenshot('emergencies')
})

t.test('English on request, remembered from page to page', async (t) => {
  await page.goto(central.url)
  await page.getByRole('link', { name: 'English' }).click()
  await page.waitForURL(/lang=en/)
  t.equal(await page.getAttribute('html', 'lang'), 'en')
  t.equal(await page.textContent('h1'), 'Map of the 34 provinces')
  await page.goto(new URL('/emergencies', central.url).href)
  t.equal(await page.textContent('h1'), 'Emergency board', 'the choice is remembered')
  await screenshot('emergencies-en')
  await page.getByRole('link', { name: 'Tiếng Việt' }).click()
  await page.waitForURL(/lang=vi/)
  t.equal(await page.textContent('h1'), 'Bảng tin khẩn cấp')
})

t.test('a province\'s console shows its own province only', async (t) => {
  await page.goto(provinceUrl)
  await page.waitForURL(/\/provinces\/79$/)
  t.equal(await page.textContent('h1'), 'Hồ Chí Minh (79)')
  t.equal(await page.getByRole('link', { name: 'Bản đồ toàn quốc' }).count(), 0, 'no national map for a province')
  const other = await page.goto(new URL('/provinces/01', provinceUrl).href)
  t.equal(other?.status(), 403, 'another province is the service\'s to refuse, and it does')
  await page.goto(new URL('/trends', provinceUrl).href)
  t.match(await page.textContent('h1'), /Hồ Chí Minh/)
  t.same(await seriousViolations(), [])
  await screenshot('province-console')
})

t.test('every page and asset came from the consoles on loopback', async (t) => {
  t.ok(requested.length > 20)
  t.same(requested.filter((url) => new URL(url).hostname !== '127.0.0.1'), [], 'no request left loopback')
})

t.test('the local signer refuses other hosts, other sites, writes and operations it does not forward', async (t) => {
  const { port } = new URL(central.url)
  const rebound = await page.goto(`http://localhost:${port}/`)
  t.equal(rebound?.status(), 403, 'a name other than the console\'s address (DNS rebinding) is refused in the browser')
  t.match(await rawGet(central.url, '/', { host: `attacker.example:${port}` }), { status: 403, body: /host-refused/ })
  t.match(await rawGet(central.url, '/api/v2/summaries/national', { origin: 'https://attacker.example' }), { status: 403, body: /cross-site-refused/ })
  t.match(await rawGet(central.url, '/api/v2/summaries/national', { 'sec-fetch-site': 'cross-site' }), { status: 403, body: /cross-site-refused/ })
  t.match(await rawGet(central.url, '/', { 'sec-fetch-site': 'same-site' }), { status: 403 }, 'a sibling site is another site too')
  t.match(await rawGet(central.url, '/api/v2/contents', {}, 'POST'), { status: 405, type: /problem\+json/, body: /method-not-allowed/ })
  t.match(await rawGet(central.url, '/api/v2/audit'), { status: 403, body: /operation-not-forwarded/ }, 'the audit log is not a read the console needs')
  t.match(await rawGet(central.url, '/api/v2/systems'), { status: 403, body: /operation-not-forwarded/ })
  t.match(await rawGet(central.url, '/api/v2/provinces/79/../../audit'), { status: 403, body: /operation-not-forwarded/ }, 'no way out of the list by dot segments')
  t.match(await rawGet(central.url, '/?colour=everything'), { status: 400, type: /problem\+json/ })
  t.match(await rawGet(central.url, '/provinces/79?debug=1'), { status: 400, type: /problem\+json/, body: /validation-failed/ }, 'unknown fields are refused')

  const allowed = await rawGet(central.url, '/api/v2/summaries/national', { 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${port}` })
  t.equal(allowed.status, 200, 'the console\'s own pages may read through it')
  t.equal((JSON.parse(allowed.body) as { provinces: unknown[] }).provinces.length, 34)
  const csv = await rawGet(central.url, '/api/v2/summaries/national?format=csv')
  t.match(csv, { status: 200, type: /text\/csv/, body: /Toàn quốc/ })
  t.match(await rawGet(provinceUrl, '/api/v2/summaries/national'), { status: 403, body: /role-forbidden/ }, 'the service still decides what the key may read')
})

t.test('a service out of reach is a 502 problem, not a failed console', async (t) => {
  const { port } = new URL(serviceUrl)
  const proxy = await new TcpProxy('127.0.0.1', Number(port)).start()
  t.teardown(() => proxy.stop())
  const proxied = await startConsole({
    client: new TtnClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, systemId: 'central-portal', key: keys.get('central-portal')!, retry: { attempts: 1 } }), port: 0,
  })
  t.teardown(() => proxied.close())
  await proxy.cut()
  t.match(await rawGet(proxied.url, '/'), { status: 502, type: /problem\+json/, body: /service-unreachable/ })
})
