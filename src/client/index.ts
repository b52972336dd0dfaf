export { generateKey, importSigningKey, readSigningKey, readSigningKeys, type SigningAlg, type SigningKey } from './keys.js'
export { bodyHash, signCall, CALL_TOKEN_TYPE, MAX_CALL_TOKEN_LIFETIME_SECONDS, type Actor, type CallToSign } from './sign.js'
export { verifyReceipt, ReceiptError, type ReceiptClaims } from './verify.js'
export { SignedHttp, TtnApiError, type ClientOptions, type RetryPolicy } from './http.js'
export { TtnClient } from './client.js'
export { provinceOfSystem } from './system-id.js'
export { cursorFeed, pages, type FeedOptions } from './paging.js'
export { Outbox, type OutboxEntry, type DrainReport } from './outbox.js'
export { StatusApi, type StatusSendSummary } from './status.js'
export { verifyServiceCall, MemoryReplayGuard, ServiceCallError, type ReplayGuard, type ServiceCallClaims, type ServiceCallOptions, type ServiceCallRequest } from './service-call.js'
export { leafHash, nodeHash, verifyConsistency, verifyInclusion, TreeFrontier } from './merkle.js'
export {
  auditLeafData, auditLeafHash, checkpointsConsistent, cosign, verifyCheckpoint, verifyCosignature, verifyReceiptInclusion,
  type AuditLeafFields, type CheckpointClaims, type CosignatureClaims, type ReceiptProof,
} from './transparency.js'
export { witnessLog, LogForkError, type WitnessRun, type WitnessState } from './witness.js'
