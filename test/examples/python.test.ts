import t from 'tap'
import { projectPath } from '../../src/paths.js'
import { checkExample } from '../helpers/examples.js'

// Debian's interpreter, with Debian's python3-cryptography: what an integrator on Debian has.
await checkExample(t, {
  title: 'Python', language: 'python', command: '/usr/bin/python3', args: [projectPath('examples', 'python', 'ttn_example.py')],
  probe: ['-c', 'import cryptography'], debianPackage: 'python3-cryptography',
})
