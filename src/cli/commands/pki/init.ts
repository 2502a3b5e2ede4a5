// aurae pki init: the CA and the server certificate of the mTLS socket, made when none exist.
import { defaultTls } from '../../../common/node-defaults.ts'
import { initPki, PKI_FILES } from '../../../common/pki.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { pkiDir } from './client.ts'

export const pkiInit: Command = {
  spec: {
    name: 'pki init',
    usage: 'pki init [--pki DIR]',
    summary: `Makes a CA (${PKI_FILES.caKey}, ${PKI_FILES.caCrt}) and the mTLS socket's server certificate (${PKI_FILES.serverKey},\n${PKI_FILES.serverCrt}) when none exist; changes nothing when they do. auraed makes them on first start too.`,
    flags: {
      pki: { type: 'string', help: 'where the certificates are (default /etc/aurae/pki as root, ~/.config/aurae/pki otherwise)', value: 'DIR' }
    },
    maxPositionals: 0
  },
  async run (parsed, ctx) {
    const dir = pkiDir(parsed.flags, defaultTls(ctx.sock, ctx.io.env, ctx.io.uid).pki)
    const outcome = await initPki(dir)
    ctx.io.stdout.write(outcome === 'created' ? `made a CA and the server certificate in ${dir}\n` : `${dir} already holds a server certificate; nothing to do\n`)
    return EXIT.ok
  }
}
