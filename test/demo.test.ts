import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { projectPath } from '../src/paths.js'
import { childEnv, compiledEntry } from './helpers/child-env.js'

const run = promisify(execFile)

t.test('the demo plays a day of three provinces and an emergency bulletin, then prints the national summary', async (t) => {
  const { stdout } = await run(process.execPath, [compiledEntry('src/demo/run.ts'), '--exit'], {
    cwd: projectPath(), env: childEnv({ PORT: '0' }), timeout: 150_000,
  })
  t.match(stdout, /province-79's receiver: verified content\.published "Cảnh báo bão số 5" \(emergency\)/, 'the webhook arrived and verified')
  t.match(stdout, /province-01 read "Cảnh báo bão số 5" from its feed/)
  t.match(stdout, /cross-check warning \/bulletinBoards: reported 3/, 'the report that disagrees with the registry is warned about')
  t.match(stdout, /Phụ lục 02 drafted from the registry: 173 lines for 168 communes \(167 without a station\), 6 stations/, 'a province\'s appendix built from its registry')
  t.match(stdout, /reach of the bulletin: 1 of 34 provinces by webhook, 3 acknowledged, played on 7 stations/)
  t.match(stdout, /^79 Hồ Chí Minh\s+6\s+50\.0\s+30\s/m)
  t.match(stdout, /^Toàn quốc\s+15\s+46\.7\s+62\s/m)
  t.notMatch(stdout, /--key /, 'no command with the keys it removed at the end')
  t.match(stdout, /removed its data and keys; .*npx ttn init/)
})
