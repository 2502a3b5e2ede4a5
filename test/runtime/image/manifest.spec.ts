import { describe, expect, it } from 'vitest'
import { parseDiffIds, parseTopLevel } from '../../../src/runtime/image/manifest.ts'

const D = `sha256:${'a'.repeat(64)}`
const manifest = (over: Record<string, unknown> = {}, layer: Record<string, unknown> = {}): Buffer => Buffer.from(JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 10 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 20, ...layer }],
  ...over
}))
const parse = (bytes: Buffer, servedAs = ''): unknown => parseTopLevel(bytes, servedAs, 'manifest M')

describe('manifests from a registry', () => {
  it('takes an image manifest and says how each layer is compressed', () => {
    expect(parse(manifest())).toEqual({
      kind: 'manifest',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 10 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 20, compression: 'gzip' }]
    })
    expect(parse(manifest({}, { mediaType: 'application/vnd.docker.image.rootfs.diff.tar' }))).toMatchObject({ layers: [{ compression: 'none' }] })
    expect(parse(manifest({}, { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }))).toMatchObject({ layers: [{ compression: 'zstd' }] })
  })

  it('tells an index from a manifest by its own media type, or else the one it was served as', () => {
    const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 5, platform: { os: 'linux', architecture: 'amd64' } }] }
    expect(parse(Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json')).toMatchObject({ kind: 'index', manifests: [{ digest: D, platform: { os: 'linux' } }] })
    expect(parse(manifest({ mediaType: undefined }), 'application/vnd.docker.distribution.manifest.v2+json')).toMatchObject({ kind: 'manifest' })
    expect(() => parse(manifest({ mediaType: undefined }))).toThrow('manifest M is invalid: it has no mediaType')
  })

  it.each([
    ['not JSON', Buffer.from('{'), 'it is not JSON'],
    ['an array', Buffer.from('[]'), 'it is not a JSON object'],
    ['schema 1', manifest({ schemaVersion: 1 }), 'schemaVersion is 1; aurae reads schema 2 only'],
    ['an artifact', manifest({ mediaType: 'application/vnd.example+json' }), 'its mediaType "application/vnd.example+json" is neither an image manifest nor an index'],
    ['no config', manifest({ config: undefined }), 'its config is not a descriptor'],
    ['a config too large', manifest({ config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 4 * 1024 * 1024 + 1 } }), 'its config says it is 4194305 bytes, more than the 4 MB aurae accepts'],
    ['a config of another kind', manifest({ config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: D, size: 1 } }), 'its config has mediaType "application/vnd.cncf.helm.config.v1+json", not an image config'],
    ['size -1', manifest({}, { size: -1 }), 'layer 1 has size -1, not a byte count'],
    ['a fractional size', manifest({}, { size: 1.5 }), 'layer 1 has size 1.5, not a byte count'],
    ['no size', manifest({}, { size: undefined }), 'layer 1 has size none, not a byte count'],
    ['a size past 1 TB', manifest({}, { size: 2 ** 41 }), 'layer 1 says it is 2199023255552 bytes, more than the 1 TB aurae accepts'],
    ['an uppercase digest', manifest({}, { digest: D.toUpperCase() }), `layer 1 has digest "${D.toUpperCase()}", not sha256: and 64 lowercase hex digits`],
    ['a sha512 digest, shown cut short', manifest({}, { digest: `sha512:${'a'.repeat(128)}` }), `layer 1 has digest "sha512:${'a'.repeat(69)}..., not sha256: and 64 lowercase hex digits`],
    ['no layer media type', manifest({}, { mediaType: '' }), 'layer 1 has no mediaType'],
    ['a nondistributable layer', manifest({}, { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' }), 'layer 1 has mediaType "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", which aurae cannot unpack'],
    ['an index without manifests', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' })), 'the index has no manifests list'],
    ['an index entry too large', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'x', digest: D, size: 5e6 }] })), 'manifest 1 says it is 5000000 bytes, more than the 4 MB aurae accepts']
  ])('refuses %s, saying what is wrong', (_, bytes, why) => {
    expect(() => parse(bytes)).toThrow(`manifest M is invalid: ${why}`)
  })
})

describe('diff_ids from an image config', () => {
  const config = (ids: unknown): Buffer => Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: ids } }))

  it('takes one sha256 digest per layer', () => {
    expect(parseDiffIds(config([D, D]), 2, 'config C')).toEqual([D, D])
  })

  it.each([
    ['no rootfs', Buffer.from('{}'), 'it has no rootfs.diff_ids'],
    ['fewer diff_ids than layers', config([D]), 'it lists 1 diff_ids for the manifest\'s 2 layers'],
    ['more diff_ids than layers', config([D, D, D]), 'it lists 3 diff_ids for the manifest\'s 2 layers'],
    ['a diff_id that is no digest', config([D, 42]), 'rootfs.diff_ids[1] is 42, not a sha256 digest']
  ])('refuses %s', (_, bytes, why) => {
    expect(() => parseDiffIds(bytes, 2, 'config C')).toThrow(`config C is invalid: ${why}`)
  })
})
