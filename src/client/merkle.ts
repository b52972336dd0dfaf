import { createHash } from 'node:crypto'

/**
 * The Merkle tree of RFC 9162 (Certificate Transparency 2.0), section 2.1: leaves hashed with a
 * 0x00 prefix, interior nodes with 0x01, a tree of n leaves split at the largest power of two
 * below n. Inclusion and consistency proofs are computed from the hashes of perfect subtrees,
 * which is what the service stores; verification needs nothing but the proof and the roots.
 */

export type Hash = Buffer

const sha256 = (...parts: Buffer[]) => {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest()
}

const LEAF = Buffer.from([0])
const NODE = Buffer.from([1])

export const leafHash = (data: Buffer | string): Hash => sha256(LEAF, typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
export const nodeHash = (left: Hash, right: Hash): Hash => sha256(NODE, left, right)
export const EMPTY_ROOT: Hash = sha256()

/** A perfect subtree: the 2^level leaves from index·2^level. */
export interface Subtree { level: number, index: number }

/** The largest power of two strictly less than n (n ≥ 2). */
function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

const isPowerOfTwo = (n: number) => n > 0 && Number.isInteger(Math.log2(n))

/**
 * The perfect subtrees whose hashes make MTH(D[start:end]), left to right, for a range that a
 * proof or a root can ask for: it starts at a multiple of a power of two at least its size.
 */
export function rangeSubtrees(start: number, end: number): Subtree[] {
  const subtrees: Subtree[] = []
  let at = start
  while (at < end) {
    const size = end - at
    const take = isPowerOfTwo(size) ? size : split(size)
    subtrees.push({ level: Math.log2(take), index: at / take })
    at += take
  }
  return subtrees
}

/** MTH(D[start:end]) from the hashes of its perfect subtrees, in the order rangeSubtrees lists them. */
export function rangeHash(subtreeHashes: Hash[]): Hash {
  if (subtreeHashes.length === 0) return EMPTY_ROOT
  let hash = subtreeHashes[subtreeHashes.length - 1]!
  for (let i = subtreeHashes.length - 2; i >= 0; i--) hash = nodeHash(subtreeHashes[i]!, hash)
  return hash
}

/** A proof as ranges of leaves, each to be hashed with rangeHash; the order is the proof's. */
export type ProofRanges = [start: number, end: number][]

/** PATH(m, D[n]) of RFC 9162 2.1.3.1, as the ranges whose hashes form it. */
export function inclusionRanges(index: number, size: number): ProofRanges {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`)
  const ranges: ProofRanges = []
  const path = (m: number, start: number, n: number) => {
    if (n === 1) return
    const k = split(n)
    if (m < k) {
      path(m, start, k)
      ranges.push([start + k, start + n])
    } else {
      path(m - k, start + k, n - k)
      ranges.push([start, start + k])
    }
  }
  path(index, 0, size)
  return ranges
}

/** PROOF(m, D[n]) of RFC 9162 2.1.4.1, as the ranges whose hashes form it. */
export function consistencyRanges(from: number, to: number): ProofRanges {
  if (!(from >= 0 && from <= to)) throw new RangeError(`no consistency proof from ${from} to ${to}`)
  const ranges: ProofRanges = []
  if (from === 0 || from === to) return ranges
  const subproof = (m: number, start: number, n: number, whole: boolean) => {
    if (m === n) {
      if (!whole) ranges.push([start, start + n])
      return
    }
    const k = split(n)
    if (m <= k) {
      subproof(m, start, k, whole)
      ranges.push([start + k, start + n])
    } else {
      subproof(m - k, start + k, n - k, false)
      ranges.push([start, start + k])
    }
  }
  subproof(from, 0, to, true)
  return ranges
}

const lsb = (n: bigint) => (n & 1n) === 1n

/** Verifies an inclusion proof (RFC 9162 2.1.3.2): true when the leaf is at `index` of the tree with this root. */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: Hash[], root: Hash): boolean {
  if (!(index >= 0 && index < size)) return false
  let fn = BigInt(index)
  let sn = BigInt(size - 1)
  let r = leaf
  for (const p of proof) {
    if (sn === 0n) return false
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r)
      while (!lsb(fn) && fn !== 0n) {
        fn >>= 1n
        sn >>= 1n
      }
    } else {
      r = nodeHash(r, p)
    }
    fn >>= 1n
    sn >>= 1n
  }
  return sn === 0n && r.equals(root)
}

/** Verifies a consistency proof (RFC 9162 2.1.4.2): true when the tree of `from` leaves is a prefix of the tree of `to`. */
export function verifyConsistency(from: number, to: number, fromRoot: Hash, toRoot: Hash, proof: Hash[]): boolean {
  if (!(from >= 0 && from <= to)) return false
  if (from === 0) return proof.length === 0
  if (from === to) return proof.length === 0 && fromRoot.equals(toRoot)
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : proof
  if (path.length === 0) return false
  let fn = BigInt(from - 1)
  let sn = BigInt(to - 1)
  while (lsb(fn)) {
    fn >>= 1n
    sn >>= 1n
  }
  let fr = path[0]!
  let sr = path[0]!
  for (const c of path.slice(1)) {
    if (sn === 0n) return false
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      while (!lsb(fn) && fn !== 0n) {
        fn >>= 1n
        sn >>= 1n
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn >>= 1n
    sn >>= 1n
  }
  return fr.equals(fromRoot) && sr.equals(toRoot) && sn === 0n
}

/**
 * The right edge of a tree being built: the roots of its perfect subtrees, largest first. Adding
 * a leaf completes the subtrees it closes; each completed one is reported, so a store can keep
 * every perfect subtree and answer any proof later.
 */
export class TreeFrontier {
  private constructor(private size: number, private readonly roots: Hash[]) {}

  static empty(): TreeFrontier {
    return new TreeFrontier(0, [])
  }

  /** The frontier of a tree of `size` leaves from the hashes of rangeSubtrees(0, size). */
  static of(size: number, subtreeHashes: Hash[]): TreeFrontier {
    if (rangeSubtrees(0, size).length !== subtreeHashes.length) throw new Error('the subtree hashes do not match the tree size')
    return new TreeFrontier(size, [...subtreeHashes])
  }

  get treeSize(): number {
    return this.size
  }

  root(): Hash {
    return rangeHash(this.roots)
  }

  /** Appends a leaf hash; returns the perfect subtrees above level 0 it completed. */
  append(leaf: Hash): { subtree: Subtree, hash: Hash }[] {
    const completed: { subtree: Subtree, hash: Hash }[] = []
    let hash = leaf
    let level = 0
    let index = this.size
    while (index % 2 === 1) {
      hash = nodeHash(this.roots.pop()!, hash)
      level++
      index = (index - 1) / 2
      completed.push({ subtree: { level, index }, hash })
    }
    this.roots.push(hash)
    this.size++
    return completed
  }
}
