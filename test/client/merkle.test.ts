import t from 'tap'
import fc from 'fast-check'
import {
  EMPTY_ROOT, TreeFrontier, consistencyRanges, inclusionRanges, leafHash, nodeHash, rangeHash, rangeSubtrees, verifyConsistency, verifyInclusion,
  type Hash, type ProofRanges,
} from '../../src/client/merkle.js'

/** MTH of RFC 9162 2.1.1 written straight from its definition, to check the stored-subtree version against. */
function mth(leaves: Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT
  if (leaves.length === 1) return leaves[0]!
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)))
}

/** Every perfect subtree of a list of leaves, as a store that kept them would answer. */
function subtreeLookup(leaves: Hash[]) {
  return (start: number, end: number) => rangeHash(rangeSubtrees(start, end).map(({ level, index }) => mth(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level))))
}

const hashes = (ranges: ProofRanges, leaves: Hash[]) => ranges.map(([start, end]) => subtreeLookup(leaves)(start, end))
const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => leafHash(`leaf ${i}`))

// The test vectors of the Certificate Transparency reference implementations: eight leaves and the root of each prefix.
const VECTOR_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => leafHash(Buffer.from(h, 'hex')))
const VECTOR_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]

t.test('roots match the published vectors, built leaf by leaf', async (t) => {
  t.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  const frontier = TreeFrontier.empty()
  VECTOR_LEAVES.forEach((leaf, i) => {
    frontier.append(leaf)
    t.equal(frontier.root().toString('hex'), VECTOR_ROOTS[i], `root of ${i + 1} leaves`)
  })
})

t.test('property: the frontier reports every perfect subtree, and any tree rebuilt from them has the same root', async () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), (n) => {
    const leaves = leavesOf(n)
    const frontier = TreeFrontier.empty()
    const stored = new Map<string, Hash>()
    leaves.forEach((leaf, i) => {
      stored.set(`0/${i}`, leaf)
      for (const { subtree, hash } of frontier.append(leaf)) stored.set(`${subtree.level}/${subtree.index}`, hash)
    })
    if (!frontier.root().equals(mth(leaves))) throw new Error(`root of ${n}`)
    const resumed = TreeFrontier.of(n, rangeSubtrees(0, n).map(({ level, index }) => stored.get(`${level}/${index}`)!))
    if (!resumed.root().equals(mth(leaves))) throw new Error(`resumed root of ${n}`)
    for (let level = 1; 2 ** level <= n; level++) {
      for (let index = 0; (index + 1) * 2 ** level <= n; index++) {
        if (!stored.get(`${level}/${index}`)?.equals(mth(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level)))) throw new Error(`subtree ${level}/${index}`)
      }
    }
  }), { numRuns: 60 })
})

t.test('property: every inclusion proof verifies, and fails for another leaf, index, size or root', async () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 600 }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1))), ([n, m]) => {
    const leaves = leavesOf(n)
    const root = mth(leaves)
    const proof = hashes(inclusionRanges(m, n), leaves)
    if (!verifyInclusion(m, n, leaves[m]!, proof, root)) throw new Error(`proof of ${m} in ${n}`)
    if (verifyInclusion(m, n, leafHash('other'), proof, root)) throw new Error('another leaf verified')
    if (n > 1 && verifyInclusion((m + 1) % n, n, leaves[m]!, proof, root)) throw new Error('another index verified')
    if (verifyInclusion(m, n + 1, leaves[m]!, proof, mth(leavesOf(n + 1))) && n > 1) throw new Error('another size verified')
    if (verifyInclusion(m, n, leaves[m]!, proof, leafHash('root'))) throw new Error('another root verified')
    if (proof.length > 0 && verifyInclusion(m, n, leaves[m]!, proof.slice(1), root)) throw new Error('a shortened proof verified')
  }), { numRuns: 200 })
})

t.test('property: every consistency proof verifies, and fails for a forked history', async () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 600 }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n), fc.nat(n - 1))), ([m, n, changed]) => {
    const leaves = leavesOf(n)
    const proof = hashes(consistencyRanges(m, n), leaves)
    if (!verifyConsistency(m, n, mth(leaves.slice(0, m)), mth(leaves), proof)) throw new Error(`consistency ${m} → ${n}`)
    // A history that differs in one leaf of the first tree: the old root no longer extends to the new one.
    if (changed < m) {
      const forked = [...leaves]
      forked[changed] = leafHash('rewritten')
      const forkedProof = hashes(consistencyRanges(m, n), forked)
      if (verifyConsistency(m, n, mth(leaves.slice(0, m)), mth(forked), forkedProof)) throw new Error(`a fork at ${changed} verified from ${m} to ${n}`)
    }
    if (m < n && verifyConsistency(m, n, mth(leaves.slice(0, m)), mth(leaves), proof.slice(0, -1))) throw new Error('a shortened proof verified')
  }), { numRuns: 200 })
})

t.test('boundaries: a tree of one leaf, the same size twice, the empty tree, and indexes out of range', async (t) => {
  const [leaf] = leavesOf(1)
  t.same(inclusionRanges(0, 1), [])
  t.ok(verifyInclusion(0, 1, leaf!, [], leaf!))
  t.notOk(verifyInclusion(1, 1, leaf!, [], leaf!))
  t.same(consistencyRanges(0, 5), [])
  t.same(consistencyRanges(5, 5), [])
  t.ok(verifyConsistency(5, 5, leaf!, leaf!, []))
  t.notOk(verifyConsistency(5, 5, leaf!, EMPTY_ROOT, []))
  t.notOk(verifyConsistency(6, 5, leaf!, leaf!, []))
  t.throws(() => inclusionRanges(3, 3), RangeError)
  t.throws(() => consistencyRanges(4, 3), RangeError)
  // Large trees stay exact: indexes far beyond 32 bits.
  const big = 2 ** 40 + 12_345
  t.same(rangeSubtrees(0, big).map((s) => s.level), [40, 13, 12, 5, 4, 3, 0])
  t.equal(inclusionRanges(big - 1, big).length, 6, "one sibling per split above the last leaf")
})
