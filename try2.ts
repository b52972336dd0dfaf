import { Contract } from './src/conformance/contract.js'
import { SchemaArbitraries, sampleOne } from './src/conformance/arbitrary.js'
const c = await Contract.read('openapi/openapi.json')
const a = new SchemaArbitraries(c)
for (const [name, s] of Object.entries(c.document.components!.schemas!)) {
  const t = Date.now()
  console.log(name)
  const v = sampleOne(a.of(s), 1)
  console.log(name, Date.now() - t, JSON.stringify(v).slice(0, 150), c.check(s, v))
}
