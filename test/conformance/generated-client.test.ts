import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { verifyReceipt } from '../../src/client/verify.js'
import { projectPath } from '../../src/paths.js'
import { buildTestApp } from '../helpers/app.js'
import { registerSystem } from '../helpers/systems.js'
import { childEnv } from '../helpers/child-env.js'

const run = promisify(execFile)
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

t.test('a client compiled from the contract alone type-checks and calls the service', async (t) => {
  // The types are generated from openapi/openapi.json by the project script, then checked with the client that uses them.
  await run(npm, ['run', '-s', 'contract:client'], { cwd: projectPath(), env: childEnv(), timeout: 60_000 })
  await run(process.execPath, [projectPath('node_modules', 'typescript', 'bin', 'tsc'), '-p', projectPath('test', 'conformance', 'contract-client', 'tsconfig.json')], {
    cwd: projectPath(), env: childEnv(), timeout: 120_000,
  }).catch((error: { stdout?: string }) => { throw new Error(`the generated client does not type-check:\n${error.stdout ?? ''}`) })

  const { app, database, config, serviceKeys } = await buildTestApp(t)
  const province = await registerSystem(database, 'province-79')
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  const { contractClient, pushAndReadBack } = await import('./contract-client/client.js')
  const client = contractClient({ baseUrl, systemId: province.id, key: province.key, audience: config.SERVICE_ID })

  const result = await pushAndReadBack(client, '79', province.id)
  t.same(result.stationIds, ['st-contract-1'])
  t.equal(result.stationName, 'Đài phường Bến Nghé')
  t.equal(result.systemRole, 'province')
  t.same(result.refusal, { status: 400, code: 'validation-failed' })
  const receipt = await verifyReceipt(result.receipt!, serviceKeys.jwks, config.SERVICE_ID)
  t.equal(receipt.req.htu, '/v2/provinces/79/stations')
})
