import type { JSONWebKeySet } from 'jose'
import type { TtnClient } from './client.js'
import type { SigningKey } from './keys.js'
import { checkpointsConsistent, cosign, verifyCheckpoint, type CheckpointClaims } from './transparency.js'

/** What a witness keeps between runs: the last checkpoint it checked, and its cosignature of it. */
export interface WitnessState {
  witness: string
  /** The checkpoint as the service signed it (compact JWS). */
  checkpoint: string
  cosignature?: string
}

/** The log a witness watches is not an append-only extension of what it saw before. */
export class LogForkError extends Error {
  constructor(message: string, readonly seen: CheckpointClaims, readonly offered: string) {
    super(message)
  }
}

export interface WitnessRun {
  state: WitnessState
  checkpoint: CheckpointClaims
  /** Leaves added since the checkpoint kept before; the whole tree on a first run. */
  grewBy: number
}

/**
 * One round of a witness (any registered system): fetch the latest checkpoint, check its
 * signature with the service keys, check that it extends the checkpoint kept from the last
 * round (a consistency proof), cosign it and send the cosignature. A log that shrank or was
 * rewritten throws LogForkError and nothing is cosigned: keep the error's checkpoint as evidence.
 */
export async function witnessLog(client: TtnClient, witness: { systemId: string, key: SigningKey }, previous: WitnessState | undefined, serviceJwks?: JSONWebKeySet): Promise<WitnessRun> {
  const keys = serviceJwks ?? await client.serviceKeys() as JSONWebKeySet
  const latest = await client.latestCheckpoint()
  const claims = await verifyCheckpoint(latest.jws, keys)
  let grewBy = claims.treeSize
  if (previous) {
    const seen = await verifyCheckpoint(previous.checkpoint, keys)
    if (claims.origin !== seen.origin) throw new LogForkError(`the log is ${claims.origin}, not ${seen.origin} as before`, seen, latest.jws)
    if (claims.treeSize < seen.treeSize) throw new LogForkError(`the log shrank from ${seen.treeSize} to ${claims.treeSize} entries`, seen, latest.jws)
    const proof = claims.treeSize === seen.treeSize ? { proof: [] } : await client.consistencyProof(seen.treeSize, claims.treeSize)
    if (!checkpointsConsistent(seen, claims, proof.proof)) {
      throw new LogForkError(`the checkpoint of ${claims.treeSize} entries does not extend the one of ${seen.treeSize} seen before: the history was rewritten`, seen, latest.jws)
    }
    grewBy = claims.treeSize - seen.treeSize
  }
  const cosignature = await cosign(claims, witness)
  await client.submitCosignature(cosignature)
  return { state: { witness: witness.systemId, checkpoint: latest.jws, cosignature }, checkpoint: claims, grewBy }
}
