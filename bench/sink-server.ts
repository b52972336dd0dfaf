/**
 * A server that reads each request's body, discards it and answers 200: where bench/isolation.ts
 * sends the flood with BENCH_FLOOD_TARGET=sink, to measure what the flood costs the machine
 * (the flooder's signing and sending, the kernel's loopback traffic) apart from the service's work.
 */
import { createServer } from 'node:http'

const server = createServer((request, response) => {
  request.resume()
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number }
  process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
