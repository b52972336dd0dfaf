import { execFile } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import pino from 'pino'
import t from 'tap'
import { createLogger, prettyLogs } from '../src/logger.js'
import { compiledEntry } from './helpers/child-env.js'

t.test('logs are readable on a terminal and JSON lines elsewhere, unless LOG_PRETTY says', async (t) => {
  t.equal(prettyLogs(undefined, true), true, 'a person at a terminal')
  t.equal(prettyLogs(undefined, false), false, 'systemd, docker, a pipe')
  t.equal(prettyLogs(false, true), false, 'LOG_PRETTY=false on a terminal')
  t.equal(prettyLogs(true, false), true, 'LOG_PRETTY=true off a terminal')
})

t.test('on a terminal the logger writes through pino-pretty, elsewhere straight to standard output', async (t) => {
  const streamOf = (logger: pino.Logger) => (logger as unknown as Record<symbol, { constructor: { name: string } }>)[pino.symbols.streamSym]!
  const pretty = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: undefined }, true)
  t.equal(streamOf(pretty).constructor.name, 'ThreadStream', 'a transport: pino-pretty in a worker')
  const transport = streamOf(pretty) as unknown as { end(): void }
  transport.end()
  const lines = streamOf(createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: undefined }, false)) as unknown as { constructor: { name: string }, fd: number, sync: boolean }
  t.equal(lines.constructor.name, 'SonicBoom', 'JSON lines')
  t.equal(lines.fd, 1, 'on file descriptor 1')
  t.equal(lines.sync, false, 'written asynchronously')
})

t.test('lines written asynchronously are all out when the process exits at once, even on an error exit', async (t) => {
  const count = 20_000
  const script = `
    const { createLogger } = await import(${JSON.stringify(pathToFileURL(compiledEntry('src/logger.ts')).href)})
    const logger = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false }, false)
    for (let i = 1; i <= ${count}; i++) logger.info({ i }, 'line')
    process.exit(3)`
  const outcome = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 64 * 1024 * 1024 })
    .then(() => ({ code: 0, stdout: '' }), (error: { code: number, stdout: string }) => error)
  t.equal(outcome.code, 3, 'the process exited with its own code')
  const numbers = outcome.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { i: number }).i)
  t.equal(numbers.length, count, 'every line was written')
  t.same([numbers[0], numbers.at(-1)], [1, count], 'the first and the last, in order')
  t.ok(numbers.every((n, i) => n === i + 1), 'none lost, none repeated, none out of order')
})
