import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from './database.js'

/**
 * A gateway in front of a service: it answers under `prefix` only and forwards the rest of the
 * path, the headers and the body as they came. Answers its own URL, prefix included.
 */
export async function prefixGateway(t: Teardown, serviceUrl: string, prefix: string): Promise<string> {
  const service = new URL(serviceUrl)
  const gateway = http.createServer((request, reply) => {
    if (!request.url!.startsWith(`${prefix}/`)) return void reply.writeHead(404).end()
    const forward = http.request({ host: service.hostname, port: service.port, method: request.method, path: request.url!.slice(prefix.length), headers: request.headers }, (answer) => {
      reply.writeHead(answer.statusCode!, answer.headers)
      answer.pipe(reply)
    })
    forward.on('error', () => reply.destroy())
    request.pipe(forward)
  })
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => gateway.close(resolve)))
  return `http://127.0.0.1:${(gateway.address() as AddressInfo).port}${prefix}`
}
