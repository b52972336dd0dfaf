import t from 'tap'
import { projectPath } from '../../src/paths.js'
import { checkKeygen, checkLiveCall, checkVectors, requireInterpreter } from '../helpers/examples.js'

// Debian's interpreter, with Debian's python3-cryptography: what an integrator on Debian has.
const PYTHON = '/usr/bin/python3'
const example = [projectPath('examples', 'python', 'ttn_example.py')]

t.test('the Python example', async (t) => {
  if (!await requireInterpreter(t, PYTHON, ['-c', 'import cryptography'], 'python3-cryptography')) return
  await t.test('agrees with every published vector', (t) => checkVectors(t, PYTHON, example))
  await t.test('generates ES256 and EdDSA keys the service reads', async (t) => {
    await checkKeygen(t, PYTHON, example, 'ES256')
    await checkKeygen(t, PYTHON, example, 'EdDSA')
  })
  await t.test('makes a first signed call with ES256 and verifies its receipt', (t) => checkLiveCall(t, PYTHON, example, { alg: 'ES256', province: '79', language: 'python' }))
  await t.test('and with EdDSA', (t) => checkLiveCall(t, PYTHON, example, { alg: 'EdDSA', province: '01', language: 'python' }))
})
