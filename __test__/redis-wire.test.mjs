// The Redis store's calls go on Node's socket (lib/redis-socket.js): what that
// socket must do by itself, against a real redis-server: give up on a server
// that stops answering, connect again, and never hold the process open idle.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { TaskGuard } from '../index.mjs'
import redis from './redis-helpers.cjs'

const opts = redis.redisTest()
const UNAVAILABLE = 'ERR_TASK_GUARD_STORE_UNAVAILABLE'

test('redis: a server that stops answering (SIGSTOP) fails the calls in flight after commandTimeoutMs, and one that cannot be reached the calls after; resumed, the guard goes on', { ...opts, timeout: 20_000 }, async (t) => {
  const server = await redis.startRedis()
  t.after(() => {
    process.kill(server.pid, 'SIGCONT')
    return server.stop()
  })
  const g = await TaskGuard.open({ store: server.url, connectTimeoutMs: 300, commandTimeoutMs: 400 })
  const held = await g.acquire('held')
  assert.equal(held.status, 'acquired')
  process.kill(server.pid, 'SIGSTOP')
  const t0 = performance.now()
  // Many in flight at once: every one is answered, none left waiting.
  const calls = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => g.acquire(`k${i}`)))
  const waited = performance.now() - t0
  assert.deepEqual(new Set(calls.map((c) => c.reason?.code)), new Set([UNAVAILABLE]))
  assert.ok(waited >= 350 && waited < 3000, `answered after ${waited} ms`)
  // Still stopped: the kernel takes the connection, the server never answers its handshake.
  const t1 = performance.now()
  await assert.rejects(g.acquire('again'), { code: UNAVAILABLE, message: /no connection within 300 ms/ })
  assert.ok(performance.now() - t1 < 3000)
  process.kill(server.pid, 'SIGCONT')
  assert.equal((await g.acquire('after')).status, 'acquired')
  // What was granted before the stop is still held.
  assert.equal((await g.acquire('held')).status, 'already_running')
  await g.close()
})

test('redis: an idle guard does not keep the process alive, and a call in flight does until it is answered', opts, async (t) => {
  const server = await redis.startRedis()
  t.after(() => server.stop())
  const script = `
    const { TaskGuard } = require(${JSON.stringify(new URL('../index.js', import.meta.url).pathname)})
    TaskGuard.open({ store: ${JSON.stringify(server.url)} }).then((g) => {
      // Not awaited: only the call in flight holds the process until its answer.
      g.acquire('k').then((r) => console.log(r.status))
    })`
  const child = spawnSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' })
  assert.equal(child.signal, null, 'the process did not exit by itself')
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout.trim(), 'acquired')
  const stored = spawnSync('redis-cli', ['-p', String(server.port), 'EXISTS', 'tg:{k}'], { encoding: 'utf8' }).stdout.trim()
  assert.equal(stored, '1')
})

test('redis: a call made alone is one script call, and calls made together share them', opts, async (t) => {
  const server = await redis.startRedis()
  t.after(() => server.stop())
  const g = await TaskGuard.open({ store: server.url })
  const scriptCalls = () => {
    const info = spawnSync('redis-cli', ['-p', String(server.port), 'INFO', 'commandstats'], { encoding: 'utf8' }).stdout
    return [...info.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0)
  }
  await g.acquire('warm')
  const before = scriptCalls()
  for (let i = 0; i < 20; i++) {
    const r = await g.acquire(`one-${i}`)
    await g.release(`one-${i}`, r.runId)
  }
  assert.equal(scriptCalls() - before, 40)
  const mid = scriptCalls()
  const answers = await Promise.all(Array.from({ length: 160 }, (_, i) => g.acquire(`many-${i}`)))
  assert.ok(answers.every((a) => a.status === 'acquired'))
  // 16 keys a script call; the first of the burst may go alone.
  assert.ok(scriptCalls() - mid <= 11, `${scriptCalls() - mid} script calls for 160 acquires`)
  await g.close()
})

test('redis: calls on a key wait for the answer of one that writes it, so a burst of duplicates is checked, not computed again from the whole record', opts, async (t) => {
  const server = await redis.startRedis()
  t.after(() => server.stop())
  const g = await TaskGuard.open({ store: server.url })
  const sentBack = () => Number(spawnSync('redis-cli', ['-p', String(server.port), 'INFO', 'stats'], { encoding: 'utf8' }).stdout.match(/total_net_output_bytes:(\d+)/)[1])
  await g.acquire('warm')
  const before = sentBack()
  const answers = await Promise.all(Array.from({ length: 2000 }, () => g.acquire('dup', { meta: { pad: 'x'.repeat(300) } })))
  const statuses = answers.map((a) => a.status)
  assert.equal(statuses.filter((s) => s === 'acquired').length, 1)
  assert.equal(statuses.filter((s) => s === 'already_running').length, 1999)
  assert.equal(new Set(answers.map((a) => a.runId)).size, 1, 'every duplicate names the one run')
  // Computed before the grant was answered, each duplicate would fail its check and
  // be sent the record (~700 bytes) to compute again from: ~1.4 MB.
  const bytes = sentBack() - before
  assert.ok(bytes < 200_000, `the server sent ${bytes} bytes for 2,000 duplicates`)
  // A release goes after the conflicts it queued behind; a new acquire after it.
  const granted = answers.find((a) => a.status === 'acquired')
  const [released, again] = await Promise.all([g.release('dup', granted.runId), g.acquire('dup')])
  assert.equal(released.status, 'released')
  assert.equal(again.status, 'acquired')
  await g.close()
})

test('redis: calls made in one turn past what one write takes go out in several, each answered', { ...opts, timeout: 30_000 }, async (t) => {
  const server = await redis.startRedis()
  t.after(() => server.stop())
  const g = await TaskGuard.open({ store: server.url })
  await g.acquire('warm')
  // ~40 MB of checks in one turn: a write takes at most ~16 MB (src/store/redis/wire.rs, MAX_OUTPUT).
  const meta = { pad: 'x'.repeat(700) }
  const answers = await Promise.all(Array.from({ length: 40_000 }, (_, i) => g.acquire(`k${i}`, { meta })))
  assert.equal(answers.filter((a) => a.status === 'acquired').length, 40_000)
  assert.equal(new Set(answers.map((a) => a.runId)).size, 40_000)
  const info = spawnSync('redis-cli', ['-p', String(server.port), 'DBSIZE'], { encoding: 'utf8' }).stdout.trim()
  assert.equal(Number(info), 40_001)
  await g.close()
})
