// The mTLS socket's certificates, made with the openssl command: a CA, the server's certificate under the name the
// original Aurae's clients expect, and client certificates (CN NAME.unsafe.aurae.io and a SPIFFE ID). The daemon
// makes the CA and server material on its first start; `aurae pki` makes them and issues client certificates.
import { execFile } from 'node:child_process'
import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto'
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FailedPreconditionError, InvalidArgumentError, messageOf } from '../errors.ts'
import { TLS_CLIENT_SUFFIX, TLS_SERVER_NAME } from './node-defaults.ts'

/** The SPIFFE trust domain of client certificates when neither `--domain` nor the node's domain gives one. */
export const DEFAULT_TRUST_DOMAIN = 'unsafe.aurae.io'

/** The files of a PKI directory, by the original's names. */
export const PKI_FILES = { caKey: 'ca.key', caCrt: 'ca.crt', serverKey: 'server.key', serverCrt: '_signed.server.crt' } as const
/** What the server needs; the CA key may be kept elsewhere once the server's certificate is signed. */
const SERVER_SET = [PKI_FILES.caCrt, PKI_FILES.serverKey, PKI_FILES.serverCrt]

const DAYS = '3650'
const SUBJECT = '/O=Aurae/OU=Runtime/CN='

/** The extensions of a certificate the CA signs for a server or a client, named by `san`. */
const leafSection = (section: 'server' | 'client', san: string): string => `[${section}]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = ${section}Auth
subjectAltName = ${san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
`

/** An openssl configuration of our own, so that the machine's openssl.cnf adds no extension of its own. */
const CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
${leafSection('server', `DNS:${TLS_SERVER_NAME}`)}`

export interface ServerMaterial {
  ca: Buffer
  cert: Buffer
  key: Buffer
}

export interface ClientFiles {
  key: string
  crt: string
  ca: string
  spiffe: string
}

/** Runs openssl; its failure (or its absence) as one line. */
async function openssl (args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile('openssl', args, { encoding: 'utf8', env: { PATH: process.env.PATH } }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout)
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new FailedPreconditionError('openssl is not installed (Debian package openssl)'))
      const why = stderr.trim().split('\n').filter(Boolean).pop() ?? messageOf(err)
      reject(new FailedPreconditionError(`openssl ${args[0]} failed: ${why}`))
    })
  })
}

/** A P-256 key, written 0600 at `path` (never readable by others, not even for a moment). */
async function newKey (path: string): Promise<void> {
  const pem = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
  writeFileSync(path, pem, { mode: 0o600, flag: 'wx' })
}

/** A random positive 128-bit serial number, so that no serial file is kept beside the CA. */
function serial (): string {
  const b = randomBytes(16)
  b[0] &= 0x7f
  return `0x${b.toString('hex')}`
}

/** A scratch directory inside `dir` (so its files are renamed into place) with our openssl.cnf, removed by `done`. */
function scratch (dir: string, extra = ''): { path: string, done: () => void } {
  const path = mkdtempSync(join(dir, '.pki-'))
  writeFileSync(join(path, 'openssl.cnf'), CONFIG + extra)
  return { path, done: () => rmSync(path, { recursive: true, force: true }) }
}

/** Signs a new key's certificate for `subject` with the CA in `pki`, with the extensions of `section`. */
async function signed (pki: string, work: string, name: string, subject: string, section: 'server' | 'client'): Promise<void> {
  const cnf = join(work, 'openssl.cnf')
  await newKey(join(work, `${name}.key`))
  await openssl(['req', '-new', '-config', cnf, '-key', join(work, `${name}.key`), '-subj', `${SUBJECT}${subject}`, '-out', join(work, `${name}.csr`)])
  await openssl(['x509', '-req', '-in', join(work, `${name}.csr`), '-CA', join(pki, PKI_FILES.caCrt), '-CAkey', join(pki, PKI_FILES.caKey),
    '-set_serial', serial(), '-days', DAYS, '-extfile', cnf, '-extensions', section, '-out', join(work, `${name}.crt`)])
}

/** Which of the PKI files are in `dir`. */
function present (dir: string): string[] {
  return Object.values(PKI_FILES).filter(f => existsSync(join(dir, f)))
}

/**
 * Makes a CA and the server's key and certificate in `dir` when none of them is there ('created'); changes nothing
 * when the server's set is ('exists'; the CA key may be kept elsewhere); refuses a set that is half there.
 */
export async function initPki (dir: string): Promise<'created' | 'exists'> {
  const there = present(dir)
  if (SERVER_SET.every(f => there.includes(f))) return 'exists'
  if (there.length > 0) {
    const missing = Object.values(PKI_FILES).filter(f => !there.includes(f))
    throw new FailedPreconditionError(`${dir} holds ${there.join(', ')} but not ${missing.join(', ')}: restore the missing files, or remove the others to make a new CA`)
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const work = scratch(dir)
  try {
    await newKey(join(work.path, PKI_FILES.caKey))
    await openssl(['req', '-new', '-x509', '-config', join(work.path, 'openssl.cnf'), '-extensions', 'ca', '-key', join(work.path, PKI_FILES.caKey),
      '-subj', `${SUBJECT}${DEFAULT_TRUST_DOMAIN}`, '-days', DAYS, '-set_serial', serial(), '-out', join(work.path, PKI_FILES.caCrt)])
    await signed(work.path, work.path, 'server', TLS_SERVER_NAME, 'server')
    // The server's certificate last: a set cut short by a crash is one `initPki` refuses, never one that looks whole.
    renameSync(join(work.path, PKI_FILES.caKey), join(dir, PKI_FILES.caKey))
    renameSync(join(work.path, PKI_FILES.caCrt), join(dir, PKI_FILES.caCrt))
    renameSync(join(work.path, 'server.key'), join(dir, PKI_FILES.serverKey))
    renameSync(join(work.path, 'server.crt'), join(dir, PKI_FILES.serverCrt))
  } finally {
    work.done()
  }
  return 'created'
}

/** The names of a client's files: its key and its signed certificate. */
export function clientFileNames (name: string): { key: string, crt: string } {
  return { key: `client.${name}.key`, crt: `_signed.client.${name}.crt` }
}

/** A DNS label: what a client's name is (it becomes a file name and the first label of its CN), and each of a domain's. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** Checks a client's name and a SPIFFE trust domain. */
export function assertClient (name: string, domain: string): void {
  if (!LABEL.test(name)) throw new InvalidArgumentError(`invalid client name "${name}": use lowercase letters, digits and "-" (at most 63)`)
  if (domain.length > 253 || !domain.split('.').every(l => LABEL.test(l))) throw new InvalidArgumentError(`invalid domain "${domain}": expected a DNS name such as example.org`)
}

/**
 * Issues `name` a key and a certificate signed by the CA in `pki` (CN NAME.unsafe.aurae.io, URI SAN
 * spiffe://DOMAIN/user/NAME), written to `out` beside a copy of the CA's certificate; a client's earlier files go.
 */
export async function issueClient (pki: string, name: string, domain: string, out: string): Promise<ClientFiles> {
  assertClient(name, domain)
  for (const f of [PKI_FILES.caKey, PKI_FILES.caCrt]) {
    try {
      accessSync(join(pki, f), constants.R_OK)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new FailedPreconditionError(`${join(pki, f)} is missing: make the CA first with aurae pki init --pki ${pki}`)
      throw new FailedPreconditionError(`cannot read ${join(pki, f)}: ${code ?? messageOf(err)} (the CA's key is the node's owner's)`)
    }
  }
  mkdirSync(out, { recursive: true, mode: 0o700 })
  const spiffe = `spiffe://${domain}/user/${name}`
  const files = clientFileNames(name)
  const work = scratch(out, leafSection('client', `URI:${spiffe}`))
  try {
    await signed(pki, work.path, 'client', `${name}${TLS_CLIENT_SUFFIX}`, 'client')
    copyFileSync(join(pki, PKI_FILES.caCrt), join(work.path, PKI_FILES.caCrt))
    renameSync(join(work.path, 'client.key'), join(out, files.key))
    renameSync(join(work.path, 'client.crt'), join(out, files.crt))
    renameSync(join(work.path, PKI_FILES.caCrt), join(out, PKI_FILES.caCrt))
  } finally {
    work.done()
  }
  return { key: join(out, files.key), crt: join(out, files.crt), ca: join(out, PKI_FILES.caCrt), spiffe }
}

/** Reads a file the mTLS socket needs; one line naming it when it cannot. */
function readMaterial (dir: string, file: string): Buffer {
  try {
    return readFileSync(join(dir, file))
  } catch (err) {
    throw new FailedPreconditionError(`cannot read ${join(dir, file)}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`)
  }
}

function certificate (dir: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem)
  } catch {
    throw new FailedPreconditionError(`${join(dir, file)} is not a PEM certificate`)
  }
}

function privateKey (dir: string, file: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem)
  } catch {
    throw new FailedPreconditionError(`${join(dir, file)} is not a PEM private key`)
  }
}

/** The CA certificate, the server's certificate and key in `dir`, each checked, and checked against each other. */
export function serverMaterial (dir: string): ServerMaterial {
  const [ca, key, cert] = SERVER_SET.map(f => readMaterial(dir, f))
  const caCert = certificate(dir, PKI_FILES.caCrt, ca)
  const serverCert = certificate(dir, PKI_FILES.serverCrt, cert)
  const serverKey = privateKey(dir, PKI_FILES.serverKey, key)
  if (!serverCert.checkPrivateKey(serverKey)) throw new FailedPreconditionError(`${join(dir, PKI_FILES.serverKey)} is not the key of ${join(dir, PKI_FILES.serverCrt)}`)
  if (!serverCert.verify(caCert.publicKey)) throw new FailedPreconditionError(`${join(dir, PKI_FILES.serverCrt)} is not signed by ${join(dir, PKI_FILES.caCrt)}`)
  return { ca, cert, key }
}
