// Redis over TLS (`rediss://`), against redis-servers of the test's own serving
// TLS with certificates made here by openssl: the core cases, server verification
// against the caller's CA, client certificates, and refusals that never hang.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { spawnSync } from 'node:child_process'
import { TaskGuard } from '../index.mjs'
import redis from './redis-helpers.cjs'
import { coreTests } from './redis-core.mjs'

const opts = redis.redisTest()
let certs
let server
let mutual

before(async () => {
  if (opts.skip) return
  certs = redis.makeCertificates()
  server = await redis.startRedis({ tls: certs })
  mutual = await redis.startRedis({ tls: certs, clientCerts: true })
})
after(async () => {
  await server?.stop()
  await mutual?.stop()
})

const ca = () => fs.readFileSync(certs.ca)

coreTests('rediss', opts, () => server, {
  extra: { get tls() { return { ca: ca() } } },
  env: { get TASK_GUARD_TEST_CA() { return certs.ca } },
})

test('rediss: the server really speaks TLS only (a plain client is not answered)', opts, () => {
  const plain = spawnSync('redis-cli', ['-p', String(server.port), 'PING'], { encoding: 'utf8', timeout: 5000 })
  assert.doesNotMatch(plain.stdout, /PONG/)
  const tls = spawnSync('redis-cli', ['--tls', '--cacert', certs.ca, '-p', String(server.port), 'PING'], { encoding: 'utf8', timeout: 5000 })
  assert.match(tls.stdout, /PONG/, tls.stderr)
})

test('rediss: the CA may be given as PEM text or bytes; the record is readable over TLS by redis-cli', opts, async () => {
  for (const given of [ca(), ca().toString('utf8'), new Uint8Array(ca())]) {
    const g = await TaskGuard.open({ store: server.url, namespace: 'ca-forms', tls: { ca: given } })
    const r = await g.acquire('k')
    assert.equal(r.status, 'acquired')
    const stored = spawnSync('redis-cli', ['--tls', '--cacert', certs.ca, '-p', String(server.port), 'GET', 'tg:{ca-forms/k}'], { encoding: 'utf8' })
    assert.match(stored.stdout, new RegExp(r.runId))
    await g.release('k', r.runId)
    await g.close()
  }
})

test('rediss: a server not signed by the given CA, or by no public root, is refused (fail closed, no hang)', opts, async () => {
  await assert.rejects(
    TaskGuard.open({ store: server.url, tls: { ca: fs.readFileSync(certs.otherCa) }, connectTimeoutMs: 2000 }),
    (e) => e.code === 'ERR_TASK_GUARD_STORE_UNAVAILABLE' && /certificate|issuer/i.test(e.message),
  )
  // No tls option: the public roots, which did not sign the test's CA.
  await assert.rejects(
    TaskGuard.open({ store: server.url, connectTimeoutMs: 2000 }),
    (e) => e.code === 'ERR_TASK_GUARD_STORE_UNAVAILABLE' && /certificate|issuer/i.test(e.message),
  )
})

test('rediss: a server that asks for a client certificate gets the one given, and refuses a guard without', opts, async () => {
  const tls = { ca: ca(), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) }
  const g = await TaskGuard.open({ store: mutual.url, tls })
  assert.equal((await g.acquire('m')).status, 'acquired')
  await g.close()
  const failure = TaskGuard.open({ store: mutual.url, tls: { ca: ca() }, connectTimeoutMs: 2000, commandTimeoutMs: 2000 })
    .then(async (bare) => {
      try {
        return await bare.acquire('m')
      } finally {
        await bare.close()
      }
    })
  await assert.rejects(failure, (e) => e.code === 'ERR_TASK_GUARD_STORE_UNAVAILABLE')
})

test('rediss: nothing listening (the URL that once panicked the store thread) rejects, and the process exits', opts, () => {
  const script = `
    import('${new URL('../index.mjs', import.meta.url).href}').then(async ({ TaskGuard }) => {
      const t0 = Date.now()
      try {
        await TaskGuard.open({ store: 'rediss://127.0.0.1:1', connectTimeoutMs: 300 })
        console.log(JSON.stringify({ opened: true }))
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, ms: Date.now() - t0 }))
      }
    })`
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })
  assert.equal(child.signal, null, 'the process exited by itself')
  assert.equal(child.status, 0, child.stderr)
  assert.doesNotMatch(child.stderr, /panicked/)
  const out = JSON.parse(child.stdout)
  assert.equal(out.code, 'ERR_TASK_GUARD_STORE_UNAVAILABLE')
})

test('tls options are checked at open: wrong store, not PEM, half a client identity, unknown names', async () => {
  const refused = (options, pattern) =>
    assert.rejects(TaskGuard.open(options), (e) => e.code === 'ERR_TASK_GUARD_INVALID_ARG' && pattern.test(e.message))
  await refused({ store: 'redis://127.0.0.1:1', tls: { ca: 'x' } }, /rediss:\/\//)
  await refused({ store: 'sqlite:./never.db', tls: {} }, /rediss:\/\//)
  assert.throws(() => new TaskGuard({ tls: {} }), (e) => e.code === 'ERR_TASK_GUARD_INVALID_ARG' && /rediss/.test(e.message))
  await refused({ store: 'rediss://127.0.0.1:1', tls: { ca: 'not a certificate' } }, /tls\.ca holds no certificate/)
  await refused({ store: 'rediss://127.0.0.1:1', tls: { ca: '-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n' } }, /tls\.ca/)
  await refused({ store: 'rediss://127.0.0.1:1', tls: { ca: 42 } }, /tls\.ca must be PEM text/)
  await refused({ store: 'rediss://127.0.0.1:1', tls: { cert: 'x' } }, /tls\.cert and tls\.key go together/)
  await refused({ store: 'rediss://127.0.0.1:1', tls: { cafile: 'x' } }, /unknown option "cafile"/)
  await refused({ store: 'rediss://127.0.0.1:1', tls: 'ca.pem' }, /tls must be an object/)
  assert.equal(fs.existsSync('./never.db'), false)
})
