import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { generateKey, importSigningKey, publicPart, type SigningAlg } from '../../src/client/keys.js'
import { verifyReceipt } from '../../src/client/verify.js'
import { projectPath } from '../../src/paths.js'
import type { PublicJwk } from '../../schemas/trust.js'
import { VECTORS_DIR } from '../../conformance/vectors.js'
import { buildTestApp } from './app.js'
import { childEnv } from './child-env.js'
import { registerSystem, signedInject } from './systems.js'

export interface ExampleRun { code: number | null, stdout: string, stderr: string }

/** Runs an example's command line to its end; no time limit of its own, as a JVM start on a busy machine takes what it takes. */
export function runExample(command: string, args: string[]): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: childEnv(), cwd: projectPath() })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/**
 * Whether the interpreter an example needs is there; when it is not, the test fails naming the
 * Debian package that provides it (CI installs them), rather than skipping.
 */
export async function requireInterpreter(t: Test, command: string, probe: string[], debianPackage: string): Promise<boolean> {
  const run = await runExample(command, probe).catch((error: Error) => ({ code: -1, stdout: '', stderr: error.message }))
  if (run.code === 0) return true
  t.fail(`${command} ${probe.join(' ')} failed (${run.stderr.trim() || `exit ${String(run.code)}`}): install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`)
  return false
}

const parse = (t: Test, run: ExampleRun): Record<string, any> | undefined => {
  try {
    return JSON.parse(run.stdout) as Record<string, any>
  } catch {
    t.fail(`the example printed no JSON (exit ${String(run.code)}):\n${run.stdout}\n${run.stderr}`)
    return undefined
  }
}

/** The example's `vectors <dir>` command agrees with every published vector. */
export async function checkVectors(t: Test, command: string, args: string[]): Promise<void> {
  const run = await runExample(command, [...args, 'vectors', VECTORS_DIR])
  const result = parse(t, run)
  t.equal(run.code, 0, `exits 0\n${run.stderr}`)
  t.same(result?.failures, [], 'no vector disagrees')
  t.ok((result?.checks as number) > 50, `${String(result?.checks)} checks`)
}

/** The example's `keygen` writes a private JWK the service's own code imports, named by its thumbprint, and a registration of its public part. */
export async function checkKeygen(t: Test, command: string, args: string[], alg: SigningAlg): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'ttn-example-keys-'))
  t.teardown(() => rm(folder, { recursive: true, force: true }))
  const run = await runExample(command, [...args, 'keygen', alg, 'province-79', folder])
  t.equal(run.code, 0, run.stderr)
  const privateJwk = JSON.parse(await readFile(join(folder, 'private.jwk.json'), 'utf8')) as JWK
  const key = await importSigningKey(privateJwk)
  t.equal(key.alg, alg)
  t.equal(key.kid, await calculateJwkThumbprint(publicPart(privateJwk)), 'the kid is the RFC 7638 thumbprint')
  const registration = JSON.parse(await readFile(join(folder, 'registration.json'), 'utf8')) as { id: string, provinceCode: string, jwks: { keys: JWK[] } }
  t.match(registration, { id: 'province-79', role: 'province', provinceCode: '79' })
  t.same(registration.jwks.keys, [publicPart(privateJwk)], 'the registration carries the public key only')
}

/**
 * The example's `call` command against the real service listening on loopback, as a province
 * registered with a key generated for the test: its write lands and its receipt verifies.
 */
export async function checkLiveCall(t: Test, command: string, args: string[], options: { alg: SigningAlg, province: string, language: string }): Promise<void> {
  const { app, database, config } = await buildTestApp(t)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const systemId = `province-${options.province}`
  const { privateJwk, publicJwk } = await generateKey(options.alg)
  await registerSystem(database, systemId, { extra: { jwks: { keys: [publicJwk as PublicJwk] } } })
  const folder = await mkdtemp(join(tmpdir(), 'ttn-example-'))
  t.teardown(() => rm(folder, { recursive: true, force: true }))
  const keyFile = join(folder, 'private.jwk.json')
  await writeFile(keyFile, JSON.stringify(privateJwk), { mode: 0o600 })

  const run = await runExample(command, [...args, 'call', url, systemId, keyFile, config.SERVICE_ID])
  const result = parse(t, run)
  t.equal(run.code, 0, `exits 0\n${run.stdout}\n${run.stderr}`)
  if (!result) return
  t.equal(result.getSystem?.status, 200, 'the signed GET is answered')
  t.equal(result.putStation?.status, 200, 'the signed PUT is accepted')
  t.equal(result.receipt?.verified, true, 'the example verified the receipt')

  // What landed, read back through the API as the province itself, and the receipt checked again here.
  const stationId = result.putStation?.stationId as string
  t.match(stationId, new RegExp(`-${options.language}$`))
  const province = { id: systemId, key: await importSigningKey(privateJwk) }
  const stored = await signedInject(app, province, { method: 'GET', url: `/v2/provinces/${options.province}/stations/${stationId}` })
  t.equal(stored.statusCode, 200, 'the station is stored')
  t.match(stored.json(), { id: stationId, province: options.province, communeVerified: true, version: 1 })
  const receiptId = result.receipt?.id as string
  const again = await signedInject(app, province, { method: 'GET', url: `/v2/receipts/${receiptId}` })
  t.equal(again.statusCode, 200, 'the service knows the receipt')
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  const claims = await verifyReceipt(again.json().jws, jwks, config.SERVICE_ID)
  t.match(claims, { sub: systemId, req: { htm: 'PUT', htu: `/v2/provinces/${options.province}/stations` }, res: { status: 200, records: [{ entity: 'station', created: [stationId] }] } })
}

export interface Example {
  /** How the tests name it: `the ${title} example`. */
  title: string
  /** The `language` the live call records. */
  language: string
  command: string
  /** The arguments that run the example before its own command line. */
  args: string[]
  /** A command line that succeeds only where everything the example needs is installed. */
  probe: string[]
  debianPackage: string
}

/** The checks every example passes: the vectors, its keys read by the service, and a first signed call with each algorithm. */
export async function checkExample(t: Test, example: Example): Promise<void> {
  const { command, args, language } = example
  await t.test(`the ${example.title} example`, async (t) => {
    if (!await requireInterpreter(t, command, example.probe, example.debianPackage)) return
    await t.test('agrees with every published vector', (t) => checkVectors(t, command, args))
    await t.test('generates ES256 and EdDSA keys the service reads', async (t) => {
      await checkKeygen(t, command, args, 'ES256')
      await checkKeygen(t, command, args, 'EdDSA')
    })
    await t.test('makes a first signed call with ES256 and verifies its receipt', (t) => checkLiveCall(t, command, args, { alg: 'ES256', province: '79', language }))
    await t.test('and with EdDSA', (t) => checkLiveCall(t, command, args, { alg: 'EdDSA', province: '01', language }))
  })
}
