import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { generateKey } from '../src/client/keys.js'
import { projectPath } from '../src/paths.js'
import { freePort, serviceDatabaseEnv, startService } from './helpers/service.js'
import { childEnv, compiledEntry } from './helpers/child-env.js'

t.test('the service starts, becomes ready, and stops cleanly on SIGTERM; a bad SYSTEMS_FILE entry is one line, not a failed start', async (t) => {
  const env = await serviceDatabaseEnv(t)
  const dir = await mkdtemp(join(tmpdir(), 'ttn-systems-file-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const { publicJwk } = await generateKey()
  await writeFile(join(dir, 'systems.json'), JSON.stringify([
    { id: 'province-48', role: 'province', provinceCode: '48', name: 'Đà Nẵng', jwks: { keys: [publicJwk] } },
    { id: 'province-80', role: 'province', provinceCode: '79', name: 'x', jwks: { keys: [publicJwk] } },
  ]))
  const metricsPort = await freePort()
  const service = await startService(t, { ...env, SYSTEMS_FILE: join(dir, 'systems.json'), METRICS_PORT: String(metricsPort) })
  const ready = await fetch(`${service.url}/health/ready`)
  t.equal(ready.status, 200)
  t.match(service.output(), /"docs":"http:\/\/127\.0\.0\.1:\d+\/docs"/, 'logs where the docs are')
  t.match(service.output(), /"registered":\["province-48"\]/, 'the good entry applied')
  t.match(service.output(), /SYSTEMS_FILE: [^"]+\/1 \(province-80\) not applied: a provincial system's id is province-79/, 'the bad one named')
  const docs = await fetch(`${service.url}/docs/`)
  t.equal(docs.status, 200, 'the docs page is served')
  const root = await fetch(`${service.url}/`, { redirect: 'manual' })
  t.equal(root.status, 302, 'the service\'s address leads to its docs')
  t.equal(root.headers.get('location'), '/docs')
  t.match(await (await fetch(`${service.url}/v2/admin-units/26740`)).json(), { name: 'Phường Sài Gòn', provinceCode: '79' }, 'the communes of 2025 from the first start')
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.match(await metrics.text(), /ttn_http_requests_total/, 'metrics on their own listener')
  t.equal((await fetch(`${service.url}/metrics`)).status, 404, 'and not on the API port')
  const contract = await fetch(`${service.url}/openapi.json`)
  t.equal((await contract.json() as { openapi: string }).openapi, '3.1.0')

  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0)
  t.match(service.output(), /"msg":"stopped"/)
})

t.test('SIGTERM lets a request in flight finish', async (t) => {
  const service = await startService(t, await serviceDatabaseEnv(t))
  const { port } = new URL(service.url)
  const body = JSON.stringify({ codes: ['77', '79'] })
  const socket = net.connect(Number(port), '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  let response = ''
  socket.on('data', (chunk) => { response += chunk })
  socket.write(`POST /v2/admin-units/resolve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
  socket.write(body.slice(0, 10))
  await new Promise((resolve) => setTimeout(resolve, 200))

  service.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 300))
  socket.write(body.slice(10))
  await new Promise((resolve) => socket.once('close', resolve))
  t.match(response, /^HTTP\/1\.1 200/, 'the request in flight got its answer')
  t.match(response, /"code":"79"/)
  t.equal(await service.exited, 0)
})

t.test('a bad setting stops the process with one line naming it', async (t) => {
  const child = spawn(process.execPath, [compiledEntry('src/server.ts')], {
    env: childEnv({ PORT: 'eighty' }),
    cwd: projectPath(),
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => { stderr += chunk })
  const code = await new Promise((resolve) => child.on('exit', resolve))
  t.equal(code, 2)
  t.equal(stderr, 'ttn-interop: invalid configuration: PORT: expected TCP port the HTTP server listens on (got "eighty")\n')
})
