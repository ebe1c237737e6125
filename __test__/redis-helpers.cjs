'use strict'
// Starts a real redis-server of the test's own on a free loopback port and
// stops it by PID. Without redis-server the Redis tests are skipped, except in
// CI (CI=true), where they fail.
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

const haveRedis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0

/** node:test options: skip without redis-server, unless in CI. */
function redisTest() {
  if (haveRedis) return {}
  if (process.env.CI === 'true') throw new Error('redis-server is not installed, and CI=true requires the Redis tests')
  return { skip: 'redis-server is not installed' }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

/**
 * Certificates made here with openssl for a TLS redis-server: a CA, a server
 * certificate it signed (for 127.0.0.1 and localhost), a client certificate it
 * signed, and a second CA that signed nothing of these. Paths of PEM files.
 */
function makeCertificates(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-tls-'))) {
  const at = (f) => path.join(dir, f)
  const openssl = (...args) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`)
  }
  const ca = (name) => openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=task-guard test ${name}`)
  ca('ca')
  ca('other-ca')
  const signed = (name, usage) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
    fs.writeFileSync(at(`${name}.ext`), `subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=${usage}\n`)
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`)
  }
  signed('server', 'serverAuth')
  signed('client', 'clientAuth')
  return {
    dir,
    ca: at('ca.pem'),
    otherCa: at('other-ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
  }
}

/** Makes a cluster-mode server a one-node cluster: it takes every slot; the state turns ok once it has checked itself. */
async function serveEverySlot(port) {
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim()
  if (cli('CLUSTER', 'ADDSLOTSRANGE', '0', '16383') !== 'OK') throw new Error('CLUSTER ADDSLOTSRANGE failed')
  // The node turns its state ok on its own cron (about 100 ms); there is no event to wait on.
  for (let i = 0; i < 100; i++) {
    if (cli('CLUSTER', 'INFO').includes('cluster_state:ok')) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('the one-node cluster never turned ok')
}

/**
 * A running redis-server; `aof` turns on appendonly with appendfsync always;
 * `cluster` runs it in cluster mode as a one-node cluster serving every slot.
 * `tls` (certificates from makeCertificates) serves TLS only on the port, with
 * `clientCerts` required when asked; its url is then `rediss://`.
 */
async function startRedis({ aof = false, port, dir, tls, clientCerts = false, cluster = false } = {}) {
  port ??= await freePort()
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-redis-'))
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.serverCert, '--tls-key-file', tls.serverKey,
        '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', clientCerts ? 'yes' : 'no']
    : ['--port', String(port)]
  const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes']
  args.push('--appendonly', aof ? 'yes' : 'no')
  if (aof) args.push('--appendfsync', 'always')
  if (cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'))
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)))
  await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('Ready to accept connections')) resolve()
    })
    child.on('exit', () => reject(new Error(`redis-server exited: ${out}`)))
  })
  if (cluster) await serveEverySlot(port)
  return {
    port,
    dir,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}/0`,
    pid: child.pid,
    /** Stops it (SIGTERM by default, SIGKILL for a crash) and waits for the exit. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, signal)
      return exited
    },
  }
}

module.exports = { redisTest, startRedis, haveRedis, makeCertificates }
