import { Type, type Static } from 'typebox'
import { Instant, Nullable, Page, PageQuery, ref, Strict, StringEnum } from './common.js'
import { Receipt } from './trust.js'

const text = (maxLength: number) => Type.String({ maxLength })
const Hash = (description: string) => Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]{43}$', description, examples: ['47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'] })

export const AuditEntryKind = StringEnum(['call', 'refusals', 'void'], {
  description: '`call`: one call; `refusals`: calls without a verified caller beyond the sample of a minute, counted ' +
    '(`at` to `until`, `refusals` of them, by `status`, `problemCode` and `operation`); `void`: an id no committed transaction holds.',
})

export const AuditEntry = Strict({
  id: Type.Integer({ format: 'int64', minimum: 1, description: 'Position in the log: entry `id` is leaf `id - 1` of the transparency log.' }),
  leafIndex: Type.Integer({ format: 'int64', minimum: 0, description: 'The leaf of this entry in the Merkle tree.' }),
  kind: AuditEntryKind,
  at: Nullable(Instant('When the call was answered; for a write, when it was applied; for `refusals`, when the minute began.')),
  caller: Nullable(text(64), { description: 'The system that called, as verified, or as it claimed when verification failed; null for anonymous calls.' }),
  verified: Nullable(Type.Boolean(), { description: 'Whether the call token passed every check.' }),
  kid: Nullable(text(128), { description: 'The `kid` of the key that signed the call token.' }),
  jti: Nullable(text(128), { description: 'The `jti` of the call token, when there was one.' }),
  method: Nullable(text(10), { description: 'HTTP method.' }),
  path: Nullable(text(2000), { description: 'Path and query as received.' }),
  operation: Nullable(text(100), { description: 'The contract\'s `operationId` of the route called; null when no route matched.' }),
  bodySha256: Nullable(text(43), { description: 'base64url SHA-256 of the body bytes received.' }),
  status: Nullable(Type.Integer({ format: 'int32', minimum: 100, maximum: 599 }), { description: 'HTTP status answered.' }),
  problemCode: Nullable(text(64), { description: 'Problem code when the call was refused or failed.' }),
  receiptId: Nullable(text(64), { description: 'Receipt issued for an accepted write.' }),
  requestId: Nullable(text(128), { description: 'The `x-request-id` of the call.' }),
  callToken: Nullable(text(16_384), { description: 'For an accepted write, the call token as sent: anyone can verify with the caller\'s public key (kept after the key is retired) that it signed exactly this method, path and body hash (chống chối bỏ nguồn gốc).' }),
  refusals: Nullable(Type.Integer({ format: 'int64', minimum: 1 }), { description: 'For `refusals`: how many calls the entry counts.' }),
  until: Nullable(Instant('For `refusals`: when the minute ended.')),
  actor: Nullable(Strict({
    id: Type.String({ maxLength: 64 }),
    name: Nullable(Type.String({ maxLength: 200 })),
    draftedBy: Nullable(Strict({ id: Type.String({ maxLength: 64 }), name: Nullable(Type.String({ maxLength: 200 })) })),
  }), { description: 'The official the call named in its `act` claim (người thực hiện), and who drafted what it carried.' }),
}, {
  $id: 'AuditEntry',
  description: 'One entry of the audit log (nhật ký kiểm toán), a leaf of its transparency log. The leaf is the UTF-8 of the JSON array ' +
    '`["ttn-audit-leaf/1", kind, at, caller, verified, kid, jti, method, path, operation, bodySha256, status, problemCode, receiptId, requestId, callToken, refusals, until, actor]` ' +
    '(`actor` written as `[id, name, draftedBy.id, draftedBy.name]`, or null) ' +
    '(no whitespace) and its hash is SHA-256(0x00 ‖ leaf), as in RFC 9162.',
})
export type AuditEntry = Static<typeof AuditEntry>

export const AuditPage = Page('AuditPage', ref(AuditEntry), 'A page of the audit log, oldest first.')

export const AuditQuery = Strict({
  caller: Type.Optional(Type.String({ maxLength: 64, description: 'Only calls by this system.' })),
  from: Type.Optional(Instant('Only calls answered at or after this instant.')),
  to: Type.Optional(Instant('Only calls answered before this instant.')),
  ...PageQuery,
})

export const Cosignature = Strict({
  witness: Type.String({ maxLength: 64, description: 'The system that cosigned.' }),
  kid: Type.String({ maxLength: 128, description: 'The witness\'s key that signed.' }),
  cosignedAt: Instant('When the witness signed.'),
  jws: Type.String({ maxLength: 4096, description: 'Compact JWS (`typ` `ttn-cosignature+jwt`) by the witness over `iss`, `aud`, `origin`, `treeSize`, `rootHash` and `iat`.' }),
}, { $id: 'Cosignature', description: 'A witness\'s signature (chữ ký đồng xác nhận) that it checked a checkpoint against every earlier one it saw.' })

export const Checkpoint = Strict({
  treeSize: Type.Integer({ format: 'int64', minimum: 1, description: 'Leaves in the tree.' }),
  rootHash: Hash('base64url Merkle tree hash (RFC 9162) of those leaves.'),
  signedAt: Instant('When the service signed it.'),
  kid: Type.String({ maxLength: 128, description: 'The service key that signed, in `/.well-known/jwks.json`.' }),
  jws: Type.String({ maxLength: 4096, description: 'Compact JWS (`typ` `ttn-checkpoint+jwt`) over `iss`, `origin`, `treeSize`, `rootHash`, `signedAt` and `previous` (the size and root of the checkpoint before).' }),
  cosignatures: Type.Array(ref(Cosignature), { maxItems: 200, description: 'The witnesses that cosigned it so far.' }),
}, { $id: 'Checkpoint', description: 'A signed checkpoint (tree head) of the transparency log.' })

export const CheckpointPage = Page('CheckpointPage', ref(Checkpoint), 'Checkpoints, oldest first.')
export const CheckpointQuery = Strict({
  after: Type.Optional(Type.Integer({ format: 'int64', minimum: 0, description: 'Only checkpoints of larger trees than this.' })),
  limit: PageQuery.limit,
})

export const ConsistencyQuery = Strict({
  from: Type.Integer({ format: 'int64', minimum: 1, description: 'The smaller tree size, e.g. the last checkpoint a witness saw.' }),
  to: Type.Integer({ format: 'int64', minimum: 1, description: 'The larger tree size, at most the latest checkpoint\'s.' }),
})

const ProofHashes = Type.Array(Hash('A node hash of the proof.'), { maxItems: 128, description: 'Node hashes, in the order of RFC 9162 section 2.1.' })

export const ConsistencyProof = Strict({
  from: Type.Integer({ format: 'int64', minimum: 1 }),
  to: Type.Integer({ format: 'int64', minimum: 1 }),
  proof: ProofHashes,
}, { $id: 'ConsistencyProof', description: 'Proof that the tree of `from` leaves is a prefix of the tree of `to` (RFC 9162 2.1.4).' })

export const InclusionQuery = Strict({
  treeSize: Type.Optional(Type.Integer({ format: 'int64', minimum: 1, description: 'Prove against the checkpoint of this size; the latest by default.' })),
})

export const InclusionProof = Strict({
  leafIndex: Type.Integer({ format: 'int64', minimum: 0 }),
  treeSize: Type.Integer({ format: 'int64', minimum: 1 }),
  proof: ProofHashes,
  entry: ref(AuditEntry),
  checkpoint: ref(Checkpoint),
}, {
  $id: 'InclusionProof',
  description: 'Proof that an audit entry is leaf `leafIndex` of the tree in `checkpoint` (RFC 9162 2.1.3): hash the entry\'s leaf, ' +
    'fold in `proof`, compare with the checkpoint\'s root, and check the checkpoint\'s signature with the service keys.',
})

export const CosignatureSubmission = Strict({
  cosignature: Type.String({ minLength: 1, maxLength: 4096, description: 'The compact JWS, signed with one of the caller\'s registered keys; its `iss` is the caller.' }),
}, { $id: 'CosignatureSubmission', description: 'A witness\'s cosignature of a checkpoint.' })

export const CosignatureWriteResult = Strict({ cosignature: ref(Cosignature), receipt: ref(Receipt) }, {
  $id: 'CosignatureWriteResult', description: 'The cosignature as kept, and the receipt of the call.',
})

export const transparencyComponents = [
  AuditEntry, AuditPage, Cosignature, Checkpoint, CheckpointPage, ConsistencyProof, InclusionProof, CosignatureSubmission, CosignatureWriteResult,
]
