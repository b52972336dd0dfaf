import t from 'tap'
import { projectPath } from '../../src/paths.js'
import { checkExample } from '../helpers/examples.js'

// Run as a single-file source program, which needs the JDK's compiler, not only a runtime.
await checkExample(t, {
  title: 'Java', language: 'java', command: 'java', args: [projectPath('examples', 'java', 'TtnExample.java')],
  probe: ['--version'], debianPackage: 'openjdk-17-jdk-headless',
})
