import pino from 'pino'
import t from 'tap'
import { createLogger, prettyLogs } from '../src/logger.js'

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
  t.equal(streamOf(createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: undefined }, false)).constructor.name, 'SonicBoom', 'JSON lines on file descriptor 1')
})
