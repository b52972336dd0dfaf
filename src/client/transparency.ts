import { SignJWT, compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose'
import type { AuditEntry } from '../../schemas/transparency.js'
import type { SigningKey } from './keys.js'
import { leafHash, verifyConsistency, verifyInclusion, type Hash } from './merkle.js'
import { verifyReceipt, type ReceiptClaims } from './verify.js'

/**
 * The audit log as a transparency log, seen from outside: what a leaf is, what a checkpoint and
 * a cosignature say, and the checks anyone holding only public keys can run.
 */

export const CHECKPOINT_TYPE = 'ttn-checkpoint+jwt'
export const COSIGNATURE_TYPE = 'ttn-cosignature+jwt'
export const LEAF_FORMAT = 'ttn-audit-leaf/1'

/** An audit entry's fields that make its leaf: all but its position. */
export type AuditLeafFields = Omit<AuditEntry, 'id' | 'leafIndex'>

/**
 * The bytes of a leaf: a JSON array in a fixed order, with no whitespace, as UTF-8. Written out
 * here so that a verifier in any language can rebuild it from an entry.
 */
export function auditLeafData(entry: AuditLeafFields): string {
  return JSON.stringify([
    LEAF_FORMAT, entry.kind, entry.at, entry.caller, entry.verified, entry.kid, entry.jti, entry.method, entry.path, entry.operation,
    entry.bodySha256, entry.status, entry.problemCode, entry.receiptId, entry.requestId, entry.callToken, entry.refusals, entry.until,
    entry.actor ? [entry.actor.id, entry.actor.name, entry.actor.draftedBy?.id ?? null, entry.actor.draftedBy?.name ?? null] : null,
  ])
}

export const auditLeafHash = (entry: AuditLeafFields): Hash => leafHash(auditLeafData(entry))

export const encodeHash = (hash: Hash) => hash.toString('base64url')
export const decodeHash = (text: string): Hash => {
  const hash = Buffer.from(text, 'base64url')
  if (hash.length !== 32 || hash.toString('base64url') !== text) throw new Error(`${text} is not a base64url SHA-256 hash`)
  return hash
}

/** What the service signs in a checkpoint (a signed tree head). */
export interface CheckpointClaims {
  iss: string
  origin: string
  treeSize: number
  rootHash: string
  signedAt: string
  /** The checkpoint signed before this one, so a deleted checkpoint leaves a gap. */
  previous: { treeSize: number, rootHash: string } | null
}

/** What a witness signs: that it saw this checkpoint and found it consistent with every one it saw before. */
export interface CosignatureClaims {
  iss: string
  aud: string
  origin: string
  treeSize: number
  rootHash: string
  iat: number
}

async function verifyTyped(jws: string, keys: JSONWebKeySet, typ: string) {
  const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(keys), { algorithms: ['ES256', 'EdDSA'] })
  if (protectedHeader.typ !== typ) throw new Error(`not a ${typ}`)
  return { claims: JSON.parse(new TextDecoder().decode(payload)) as unknown, kid: protectedHeader.kid }
}

/** Verifies a checkpoint with the service's JWKS and returns what it states. */
export async function verifyCheckpoint(jws: string, serviceJwks: JSONWebKeySet): Promise<CheckpointClaims> {
  const { claims } = await verifyTyped(jws, serviceJwks, CHECKPOINT_TYPE)
  const checkpoint = claims as CheckpointClaims
  if (!Number.isSafeInteger(checkpoint.treeSize) || checkpoint.treeSize < 1) throw new Error('the checkpoint has no tree size')
  decodeHash(checkpoint.rootHash)
  return checkpoint
}

/** Signs a cosignature of a checkpoint, as a witness does once it has checked it. */
export async function cosign(checkpoint: CheckpointClaims, witness: { systemId: string, key: SigningKey }, now = Date.now()): Promise<string> {
  const claims: CosignatureClaims = {
    iss: witness.systemId, aud: checkpoint.iss, origin: checkpoint.origin, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash,
    iat: Math.floor(now / 1000),
  }
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: witness.key.alg, kid: witness.key.kid, typ: COSIGNATURE_TYPE }).sign(witness.key.key)
}

/** Verifies a cosignature with the witness's public keys. */
export async function verifyCosignature(jws: string, witnessJwks: JSONWebKeySet): Promise<CosignatureClaims & { kid: string }> {
  const { claims, kid } = await verifyTyped(jws, witnessJwks, COSIGNATURE_TYPE)
  const cosignature = claims as CosignatureClaims
  if (typeof cosignature.iss !== 'string' || !Number.isSafeInteger(cosignature.treeSize)) throw new Error('the cosignature is malformed')
  return { ...cosignature, kid: kid ?? '' }
}

export const cosignatureKid = (jws: string) => decodeProtectedHeader(jws).kid

/** The proof the service gives for one receipt. */
export interface ReceiptProof {
  leafIndex: number
  treeSize: number
  proof: string[]
  entry: AuditLeafFields
  checkpoint: { jws: string }
}

/**
 * Proves that a receipt's write is in the log: the receipt and the checkpoint verify with the
 * service keys, the entry is the receipt's request and answer, its leaf is the one the receipt
 * names, and the proof leads from that leaf to the checkpoint's root.
 */
export async function verifyReceiptInclusion(receiptJws: string, proof: ReceiptProof, serviceJwks: JSONWebKeySet): Promise<{ receipt: ReceiptClaims, checkpoint: CheckpointClaims }> {
  const receipt = await verifyReceipt(receiptJws, serviceJwks)
  const checkpoint = await verifyCheckpoint(proof.checkpoint.jws, serviceJwks)
  const { entry } = proof
  const mismatch = ([
    ['receipt id', entry.receiptId, receipt.jti], ['jti', entry.jti, receipt.req.jti], ['method', entry.method, receipt.req.htm],
    ['path', entry.path, receipt.req.htu], ['body hash', entry.bodySha256, receipt.req.bsh], ['status', entry.status, receipt.res.status],
    ['caller', entry.caller, receipt.sub],
  ] as const).find(([, a, b]) => a !== b)
  if (mismatch) throw new Error(`the log entry's ${mismatch[0]} is not the receipt's`)
  if (!receipt.log) throw new Error('the receipt names no log position')
  if (receipt.log.index !== proof.leafIndex) throw new Error(`the receipt names leaf ${receipt.log.index}, the proof leaf ${proof.leafIndex}`)
  const leaf = auditLeafHash(entry)
  if (encodeHash(leaf) !== receipt.log.leafHash) throw new Error('the log entry is not the one the receipt names')
  if (proof.treeSize !== checkpoint.treeSize) throw new Error('the proof is for another tree size than the checkpoint')
  if (!verifyInclusion(proof.leafIndex, proof.treeSize, leaf, proof.proof.map(decodeHash), decodeHash(checkpoint.rootHash))) {
    throw new Error(`leaf ${proof.leafIndex} is not in the tree of checkpoint ${checkpoint.treeSize}`)
  }
  return { receipt, checkpoint }
}

/** Checks that a later checkpoint extends an earlier one: the log was only appended to between them. */
export function checkpointsConsistent(earlier: CheckpointClaims, later: CheckpointClaims, proof: string[]): boolean {
  if (earlier.origin !== later.origin) return false
  return verifyConsistency(earlier.treeSize, later.treeSize, decodeHash(earlier.rootHash), decodeHash(later.rootHash), proof.map(decodeHash))
}
