// Peering tokens: what `aurae proxy` prints. Signed by the issuer, so no byte can change unnoticed.
import { randomBytes } from 'node:crypto'
import { FailedPreconditionError, InvalidArgumentError } from '../errors.ts'
import { Token, TokenBody } from '../gen/aurae/mesh/v0/mesh.ts'
import type { NodeKey } from './keys.ts'
import { publicKeyOf, signBy, signedBy } from './signing.ts'

/** A peering token this node issued, by the hash of its secret (the mesh's `tokens` table). */
export interface TokenRecord {
  id: string
  usesLeft: number
  expiresAt: number
}

const PREFIX = 'aurae1-'

export type TokenClaims = TokenBody

/** Makes and signs a token for this node. */
export function issueToken (key: NodeKey, claims: Omit<TokenClaims, 'peerId' | 'secret'>): { token: string, claims: TokenClaims } {
  const full: TokenClaims = { ...claims, peerId: key.peerId, secret: randomBytes(32) }
  const body = Buffer.from(TokenBody.encode(full).finish())
  const signature = signBy(key, body)
  return { token: PREFIX + Buffer.from(Token.encode({ body, signature }).finish()).toString('base64url'), claims: full }
}

/** Reads a token and checks its signature against the key inside its issuer's PeerId. */
export function readToken (text: string, now = Date.now()): TokenClaims {
  const trimmed = text.trim()
  if (!trimmed.startsWith(PREFIX)) throw new InvalidArgumentError('this is not a peering token (it should start with aurae1-; get one from "aurae proxy" on the other node)')
  let claims: TokenClaims
  let token: Token
  try {
    token = Token.decode(Buffer.from(trimmed.slice(PREFIX.length), 'base64url'))
    claims = TokenBody.decode(token.body)
  } catch {
    throw new InvalidArgumentError('this peering token is garbled: it could not be decoded')
  }
  if (publicKeyOf(claims.peerId) === undefined || claims.secret.length !== 32) throw new InvalidArgumentError('this peering token is garbled: its issuer is not a valid PeerId')
  if (!signedBy(claims.peerId, token.body, token.signature)) throw new InvalidArgumentError('this peering token has been tampered with: its signature does not match its issuer')
  // A well-formed token past its time is refused, as a used-up one is (exit 1): the command line was right.
  if (claims.expiresAtMs <= now) throw new FailedPreconditionError(`this peering token expired at ${new Date(claims.expiresAtMs).toISOString()}; ask for a new one`)
  return claims
}
