import t from 'tap'
import { projectPath } from '../../src/paths.js'
import { checkKeygen, checkLiveCall, checkVectors, requireInterpreter } from '../helpers/examples.js'

// Debian's php-cli: OpenSSL for ES256, sodium for EdDSA, streams for HTTP (no curl extension needed).
const PHP = 'php'
const example = [projectPath('examples', 'php', 'ttn_example.php')]

t.test('the PHP example', async (t) => {
  if (!await requireInterpreter(t, PHP, ['-r', 'exit(function_exists("openssl_sign") && function_exists("sodium_crypto_sign_detached") ? 0 : 1);'], 'php-cli')) return
  await t.test('agrees with every published vector', (t) => checkVectors(t, PHP, example))
  await t.test('generates ES256 and EdDSA keys the service reads', async (t) => {
    await checkKeygen(t, PHP, example, 'ES256')
    await checkKeygen(t, PHP, example, 'EdDSA')
  })
  await t.test('makes a first signed call with ES256 and verifies its receipt', (t) => checkLiveCall(t, PHP, example, { alg: 'ES256', province: '79', language: 'php' }))
  await t.test('and with EdDSA', (t) => checkLiveCall(t, PHP, example, { alg: 'EdDSA', province: '01', language: 'php' }))
})
