import t from 'tap'
import { projectPath } from '../../src/paths.js'
import { checkExample } from '../helpers/examples.js'

// Debian's php-cli: OpenSSL for ES256, sodium for EdDSA, streams for HTTP (no curl extension needed).
await checkExample(t, {
  title: 'PHP', language: 'php', command: 'php', args: [projectPath('examples', 'php', 'ttn_example.php')],
  probe: ['-r', 'exit(function_exists("openssl_sign") && function_exists("sodium_crypto_sign_detached") ? 0 : 1);'], debianPackage: 'php-cli',
})
