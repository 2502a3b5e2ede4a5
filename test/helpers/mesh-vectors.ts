// Fixed vectors made by auraed before its mesh used @libp2p/crypto and @libp2p/peer-id for keys, PeerIds and
// signatures: key files on disk and tokens already handed out must keep working, byte for byte.

/** A key file: 08 01 12 40 (libp2p's protobuf PrivateKey, Ed25519, 64 bytes), the seed, the public half. */
export const KEY_FILE = '08011240b722f5d9e40acb2c44d091058684fec76f6b8b173f8855fda9039269acb307a29d0373bdefc36876860a54fe7f4f2d44b682c619b5006c2ad4c0c2906563fe3e'
export const KEY_PEER_ID = '12D3KooWLPHEKR3Nea98GxjnFGrm33yNfQ1PDc9mXxQEBZGSqgry'
/** That key's signature over the five bytes `aurae`. */
export const SIGNATURE = '0e8b251d4acf978c1e7bce497cc0925134a5f0a54a639063e6b0f127a8e04309b2e31bcb7d7b1516269f3ac0a89879d44b168189293ab890b310343955e3c30d'
/** A token that key issued for alice@example.org at /ip4/192.0.2.1/tcp/4710, valid until 2100. */
export const TOKEN = 'aurae1-CowBCjQxMkQzS29vV0xQSEVLUjNOZWE5OEd4am5GR3JtMzN5TmZRMVBEYzltWHhRRUJaR1NxZ3J5EgVhbGljZRoLZXhhbXBsZS5vcmciFy9pcDQvMTkyLjAuMi4xL3RjcC80NzEwKiAZX1s4qFR3KGXG803fRQs93C_R7cstfesvq3FWCeS22DCAsI_msncSQISm3gA5iCpZlJj5Z34itVfUPXQtOB9XIaMbPkOT3kSZ5e2Qt75FT6OG1-FWtxalPGBH4Sr2G8W2LRYtaDg5vQ0'
export const TOKEN_EXPIRES_AT_MS = 4102444800000
/** The signed DHT record of alice@example.org → that key, /ip4/192.0.2.1/tcp/4710, seq NAME_RECORD_SEQ. */
export const NAME_RECORD = '0a6a0a05616c696365120b6578616d706c652e6f72671a34313244334b6f6f574c5048454b52334e6561393847786a6e4647726d3333794e665131504463396d58785145425a47537167727922172f6970342f3139322e302e322e312f7463702f343731302880d095ffbc3112408f5be84cfa74f505d6189d111cbec89559069329e01ba465223c3d76126838df26cbfd06b0d853f1a37ba80b9e88919e7e4ba2b5334c1df1a27b88970424c303'
export const NAME_RECORD_SEQ = 1_700_000_000_000
