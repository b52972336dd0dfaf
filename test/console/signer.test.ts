import t from 'tap'
import { checkRequest, ConsoleProblem, isForwarded } from '../../src/console/signer.js'

t.test('the signer forwards the reads its pages need, and no other path', async (t) => {
  for (const path of [
    '/v2/summaries/national', '/v2/summaries/national?format=csv', '/v2/summaries/provinces/79', '/v2/trends?days=90', '/v2/provinces/79/trends',
    '/v2/provinces/79/stations?limit=1000', '/v2/provinces/79/status?state=offline', '/v2/provinces/79/reports/2026-Y/indicators',
    '/v2/report-periods', '/v2/contents?origin=central', '/v2/contents/3b8e4c2a-6f1d-4a9e-b7c5-2d0f8e6a1b35/reach', '/v2/systems/central-portal',
    '/v2/provinces/79/devices/cluster/dai-79-3-loa-1/status-history?limit=100',
  ]) t.ok(isForwarded(path), path)
  for (const path of [
    '/v2/audit', '/v2/systems', '/v2/receipts/abc', '/v2/changes', '/v2/contents/feed/../../audit', '/v2/provinces/../audit/trends',
    '/v2/provinces/%2e%2e/trends', '/v2/provinces/79/reports/2026-Y/indicators/versions/1/review', '/v2/provinces/79/stations/dai-1', '/v2/provinces/79/devices/radio/x/status-history',
    '/v2/summaries/national/', '/health/ready', '//attacker.example/v2/trends', 'http://attacker.example/v2/trends',
  ]) t.notOk(isForwarded(path), path)
})

t.test('a request passes only at the console\'s own host, from its own pages or typed in, and only to read', async (t) => {
  const own = '127.0.0.1:8090'
  const refusal = (method: string, headers: Record<string, string>) => {
    try {
      checkRequest(method, headers, own)
      return undefined
    } catch (error) {
      return error instanceof ConsoleProblem ? `${error.status} ${error.code}` : String(error)
    }
  }
  t.equal(refusal('GET', { host: own }), undefined, 'no browser headers (a command-line client)')
  t.equal(refusal('GET', { host: own, 'sec-fetch-site': 'none' }), undefined, 'typed into the address bar')
  t.equal(refusal('GET', { host: own, 'sec-fetch-site': 'same-origin', origin: `http://${own}` }), undefined, 'from its own pages')
  t.equal(refusal('HEAD', { host: own }), undefined)
  t.equal(refusal('GET', {}), '403 host-refused')
  t.equal(refusal('GET', { host: 'localhost:8090' }), '403 host-refused', 'another name for loopback is another host')
  t.equal(refusal('GET', { host: 'rebound.example:8090' }), '403 host-refused')
  t.equal(refusal('GET', { host: '127.0.0.1:8091' }), '403 host-refused')
  t.equal(refusal('GET', { host: own, origin: 'http://127.0.0.1:8091' }), '403 cross-site-refused', 'another port is another origin')
  t.equal(refusal('GET', { host: own, origin: 'null' }), '403 cross-site-refused', 'an opaque origin (a sandboxed frame)')
  t.equal(refusal('GET', { host: own, 'sec-fetch-site': 'cross-site' }), '403 cross-site-refused')
  t.equal(refusal('GET', { host: own, 'sec-fetch-site': 'same-site' }), '403 cross-site-refused')
  t.equal(refusal('POST', { host: own }), '405 method-not-allowed')
  t.equal(refusal('DELETE', { host: own, 'sec-fetch-site': 'same-origin' }), '405 method-not-allowed')
})
