import t from 'tap'
import { projectPath } from '../../src/paths.js'
import { checkKeygen, checkLiveCall, checkVectors, requireInterpreter } from '../helpers/examples.js'

// Run as a single-file source program, which needs the JDK's compiler, not only a runtime.
const example = [projectPath('examples', 'java', 'TtnExample.java')]

t.test('the Java example', async (t) => {
  if (!await requireInterpreter(t, 'java', ['--version'], 'openjdk-17-jdk-headless')) return
  await t.test('agrees with every published vector', (t) => checkVectors(t, 'java', example))
  await t.test('generates ES256 and EdDSA keys the service reads', async (t) => {
    await checkKeygen(t, 'java', example, 'ES256')
    await checkKeygen(t, 'java', example, 'EdDSA')
  })
  await t.test('makes a first signed call with ES256 and verifies its receipt', (t) => checkLiveCall(t, 'java', example, { alg: 'ES256', province: '79', language: 'java' }))
  await t.test('and with EdDSA', (t) => checkLiveCall(t, 'java', example, { alg: 'EdDSA', province: '01', language: 'java' }))
})
