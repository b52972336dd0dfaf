import { Command } from 'commander'
import { clientFrom, print, withCallerOptions, type CallerOptions } from '../cli/common.js'

export function consoleCommand(): Command {
  return withCallerOptions(new Command('console')
    .description('Serve a read-only web console for officials on 127.0.0.1, in Vietnamese (English with ?lang=en): the national tile map, ' +
      'each province, 90-day trends and the emergency board. It signs every call to the service with --key and forwards only the reads its pages need; ' +
      'requests naming another host, or coming from another site, are refused.')
    .option('--port <port>', 'port on 127.0.0.1 (0 takes any free port)', (v) => Number.parseInt(v, 10), 8090))
    .action(async (options: CallerOptions & { port: number }) => {
      if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new Error('--port must be a port number, 0 to 65535')
      const { startConsole } = await import('./server.js')
      const running = await startConsole({ client: await clientFrom(options), port: options.port })
      print(`console for ${running.caller.systemId} (${running.caller.role}${running.caller.provinceCode ? ` ${running.caller.provinceCode}` : ''}) listening on ${running.url}`)
      const stop = () => void running.close().then(() => process.exit(0))
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
}
