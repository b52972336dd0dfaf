/**
 * The top entries of a V8 CPU profile (as BENCH_PROFILE_DIR writes them): self time by
 * function and by package, as shares of the sampled time.
 *
 *   npx tsx bench/profile-top.ts file.cpuprofile [entries]
 */
import { readFile } from 'node:fs/promises'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

const [file, entries = '25'] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-top.ts file.cpuprofile [entries]')
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfTime = new Map<number, number>()
profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

const total = [...selfTime.values()].reduce((a, b) => a + b, 0)
const functions = new Map<string, number>()
const packages = new Map<string, number>()
for (const [id, time] of selfTime) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame
  const where = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '')
  const name = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim()
  functions.set(name, (functions.get(name) ?? 0) + time)
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.includes('/dist/') ? 'ttn-interop' : url.startsWith('node:') ? 'node' : (functionName.startsWith('(') ? functionName : 'node'))
  packages.set(pkg, (packages.get(pkg) ?? 0) + time)
}
const show = (title: string, map: Map<string, number>, count: number) => {
  process.stdout.write(`\n${title} (of ${(total / 1e6).toFixed(1)} s sampled)\n`)
  for (const [name, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(`${(100 * time / total).toFixed(1).padStart(5)}%  ${name}\n`)
  }
}
show('self time by package', packages, 15)
show('self time by function', functions, Number(entries))
