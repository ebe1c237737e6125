import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { TaskGuard } from '../index.mjs'
import redis from './redis-helpers.cjs'
import helpers from './helpers.cjs'
import { coreTests } from './redis-core.mjs'
import { checkMixedBatch } from './mixed-batch.mjs'

const { libfaketime, fakeTimeEnv } = helpers
const opts = redis.redisTest()
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname
let server

before(async () => {
  if (!opts.skip) server = await redis.startRedis()
})
after(async () => {
  await server?.stop()
})

/** A guard in a namespace of its own, so tests sharing the server do not meet. */
let n = 0
const open = (extra = {}) => TaskGuard.open({ store: server.url, namespace: `t${n++}`, ...extra })

coreTests('redis', opts, () => server)

test('redis: key layout, expiry of history only, and answers that change nothing write nothing', opts, async () => {
  const g = await TaskGuard.open({ store: server.url, namespace: 'layout', retentionMs: 60_000 })
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout.trim()
  const a = await g.acquire('s::t')
  assert.equal(cli('TTL', 'tg:{layout/s::t}'), '-1', 'a running guard never expires')
  const before = cli('GET', 'tg:{layout/s::t}')
  const calls = Number(cli('INFO', 'commandstats').match(/cmdstat_set:calls=(\d+)/)?.[1] ?? 0)
  await g.acquire('s::t')
  await g.acquire('s::t')
  assert.equal(cli('GET', 'tg:{layout/s::t}'), before)
  assert.equal(Number(cli('INFO', 'commandstats').match(/cmdstat_set:calls=(\d+)/)?.[1] ?? 0), calls, 'conflicts wrote nothing')
  await g.release('s::t', a.runId)
  const ttl = Number(cli('PTTL', 'tg:{layout/s::t}'))
  assert.ok(ttl > 50_000 && ttl <= 60_000, `history expires after retentionMs (${ttl})`)
  const f = await g.acquire('f')
  await g.release('f', f.runId, 'failed')
  assert.equal(cli('TTL', 'tg:{layout/f}'), '-1', 'a failed guard never expires')
  await g.close()
})

test('redis: a value is the record with a stamp first, checked by its stamp; a value without one (an earlier task-guard wrote it) is checked whole', opts, async () => {
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout.trim()
  const a = await TaskGuard.open({ store: server.url, namespace: 'stamps' })
  const run = await a.acquire('k')
  const stamped = cli('GET', 'tg:{stamps/k}')
  assert.match(stamped, /^\{"w":"[0-9a-f]{16}","v":1,"phase":\{"Running":\{"run_id":"/)
  assert.equal(JSON.parse(stamped).phase.Running.run_id, run.runId)
  await a.heartbeat('k', run.runId)
  const next = cli('GET', 'tg:{stamps/k}')
  assert.notEqual(next.slice(0, 23), stamped.slice(0, 23), 'each write draws a new stamp')

  // The record as task-guard wrote it before stamps: the same run.
  const plain = `{${next.slice(24)}`
  assert.equal(cli('SET', 'tg:{stamps/k}', plain), 'OK')
  const b = await TaskGuard.open({ store: server.url, namespace: 'stamps' })
  const dup = await b.acquire('k')
  assert.equal(dup.status, 'already_running')
  assert.equal(dup.runId, run.runId)
  assert.equal(cli('GET', 'tg:{stamps/k}'), plain, 'a conflict writes nothing')
  // a last wrote a stamp the key no longer holds: its check fails, and it computes again from the key.
  assert.equal((await a.heartbeat('k', run.runId)).status, 'extended')
  assert.match(cli('GET', 'tg:{stamps/k}'), /^\{"w":"[0-9a-f]{16}","v":1,/)

  // b's view holds the plain text whole; the key holds a's stamped write since. A
  // release by b of the run it saw must not be judged on that old text alone: it
  // reads the key again. The same holds the other way round.
  assert.equal(cli('SET', 'tg:{stamps/k}', plain), 'OK')
  const c = await TaskGuard.open({ store: server.url, namespace: 'stamps' })
  assert.equal((await c.acquire('k')).status, 'already_running', 'c reads the plain text')
  await a.forceRelease('k')
  const mine = await c.acquire('k')
  assert.equal(mine.status, 'acquired', 'c\'s whole-text check failed against a\'s write, and it computed again')
  assert.equal((await b.release('k', run.runId)).status, 'lost')
  const inspected = await b.inspect()
  assert.equal(inspected.guards.find((g) => g.key === 'k')?.runId, mine.runId)
  for (const g of [a, b, c]) await g.close()
})

test('redis: answers with an error, with events and with neither, made together, each reach their own call', opts, async () => {
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout.trim()
  const g = await TaskGuard.open({ store: server.url, namespace: 'mixed' })
  const held = await g.acquire('held')
  const other = await g.acquire('other', { owner: 'gateway-2' })
  assert.equal(cli('SET', 'tg:{mixed/newer}', '{"v":2,"phase":"Idle","last_fence":0,"history":[],"updated_at":0}'), 'OK')
  await checkMixedBatch(g, held, other, 'newer')
  await g.close()
})

test('redis: inspect uses SCAN and pages through tens of thousands of guards', opts, async () => {
  const g = await open()
  for (let i = 0; i < 20_000; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, j) => g.acquire(`bulk-${i + j}`)))
  }
  const first = await g.inspect()
  assert.equal(first.counts.running, 20_000)
  // A page is whole SCAN batches (see the README), so it holds at most `limit`
  // guards and may hold fewer while more remain: its `next` says so.
  assert.ok(first.guards.length > 0 && first.guards.length <= 100, `${first.guards.length} guards on the first page`)
  assert.notEqual(first.next, null)
  const keys = first.guards.map((x) => x.key)
  assert.deepEqual(keys, [...keys].sort(), 'a page is in key order')
  // Pages follow SCAN: every guard once, whatever the order across pages.
  const seen = new Set()
  for (let after = null, pages = 0; ; pages++) {
    const page = await g.inspect({ limit: 1000, after })
    assert.ok(page.guards.length <= 1000)
    for (const x of page.guards) seen.add(x.key)
    if (page.next === null) break
    after = page.next
  }
  assert.equal(seen.size, 20_000)
  // Across pages SCAN may repeat a key while Redis rehashes (other tests write to this database).
  const walked = new Set()
  for await (const x of g.guards({ prefix: 'bulk-1' })) {
    assert.ok(x.key.startsWith('bulk-1'), x.key)
    walked.add(x.key)
  }
  assert.equal(walked.size, 11_111)
  const some = await g.inspect({ prefix: 'bulk-1999', limit: 5 })
  assert.deepEqual(some.guards.map((x) => x.key).sort(), some.guards.map((x) => x.key))
  assert.equal(some.counts.running, 11)
  const listed = some.guards.map((x) => x.key)
  for (let after = some.next; after !== null; ) {
    const page = await g.inspect({ prefix: 'bulk-1999', limit: 5, after })
    assert.ok(page.guards.length <= 5)
    listed.push(...page.guards.map((x) => x.key))
    after = page.next
  }
  assert.deepEqual([...new Set(listed)].sort(), ['bulk-1999', ...Array.from({ length: 10 }, (_, i) => `bulk-1999${i}`)])
  await assert.rejects(g.inspect({ limit: 5, after: some.next }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  await g.close()
})

/** Whether libfaketime is here (required in CI); skips `t` if not. */
function haveFaketime(t) {
  if (libfaketime !== null) return true
  if (process.env.CI === 'true') throw new Error('libfaketime is required in CI')
  t.skip('libfaketime is not installed')
  return false
}

/** The JSON line a child printed; a child that printed none fails the test with its stderr. */
function childAnswer(child) {
  assert.equal(child.status, 0, `the child ended with status ${child.status}, signal ${child.signal}: ${child.stderr}`)
  return JSON.parse(child.stdout)
}

test('redis: clients whose host clocks disagree by hours agree on staleness (the server clock decides)', opts, async (t) => {
  if (!haveFaketime(t)) return
  const store = server.url.replace(/\/0$/, '/4')
  const script = `
    const { TaskGuard } = require(${JSON.stringify(path.resolve(FIXTURES, '../../index.js'))})
    TaskGuard.open({ store: ${JSON.stringify(store)} }).then(async (g) => {
      const r = await g.acquire('skew', { ttlMs: 60_000, owner: 'host-' + process.argv[1] })
      console.log(JSON.stringify({ local: Date.now(), status: r.status, runId: r.runId, startedAt: r.startedAt, healed: r.healedFrom?.runId ?? null }))
      await g.close()
    })`
  const at = (offset) => {
    const before = Date.now()
    const out = childAnswer(spawnSync(process.execPath, ['-e', script, '--', offset], { encoding: 'utf8', env: fakeTimeEnv(offset) }))
    return { ...out, before, after: Date.now() }
  }
  const behind = at('-3h')
  assert.equal(behind.status, 'acquired')
  assert.ok(Math.abs(behind.local - Date.now()) > 2 * 3600_000, 'the child really ran with a skewed clock')
  // Within the child's lifetime on this host's clock (the server's), however long a loaded machine took to run it.
  assert.ok(behind.startedAt >= behind.before - 1_000 && behind.startedAt <= behind.after + 1_000, 'startedAt is the server time, not the client time')
  // A host 3 hours ahead would, by its own clock, think the 60 s run long stale.
  const ahead = at('+3h')
  assert.equal(ahead.status, 'already_running')
  assert.equal(ahead.runId, behind.runId)
  assert.equal(ahead.healed, null)
})

test('redis: a waiting acquire on a host whose clock is hours off wakes at the run\'s expiry on the server\'s clock', opts, async (t) => {
  if (!haveFaketime(t)) return
  const store = server.url.replace(/\/0$/, '/6')
  const holder = await TaskGuard.open({ store })
  const held = await holder.acquire('waited', { ttlMs: 400 })
  // pollMs far away: only the engine's retry time can wake the waiter in time.
  const script = `
    const { TaskGuard } = require(${JSON.stringify(path.resolve(FIXTURES, '../../index.js'))})
    TaskGuard.open({ store: ${JSON.stringify(store)}, pollMs: 60_000 }).then(async (g) => {
      const t0 = performance.now()
      const r = await g.acquire('waited', { waitMs: 5_000 })
      console.log(JSON.stringify({ status: r.status, healed: r.healedFrom?.runId ?? null, ms: performance.now() - t0 }))
      await g.close()
    })`
  const behind = childAnswer(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: fakeTimeEnv('-3h') }))
  assert.equal(behind.status, 'acquired')
  assert.equal(behind.healed, held.runId)
  assert.ok(behind.ms < 2_500, `woke after ${Math.round(behind.ms)} ms: a client clock 3 h behind must not delay it`)
  await holder.close()
})

test('redis: the CLI works against Redis as against SQLite', opts, async () => {
  const g = await TaskGuard.open({ store: server.url, namespace: 'cli' })
  const r = await g.acquire('job', { owner: 'gw' })
  await g.release('job', r.runId, 'failed', { error: 'boom' })
  await g.close()
  const cli = (...args) => spawnSync(process.execPath, [path.resolve(FIXTURES, '../../bin/task-guard.js'), ...args, '--store', server.url, '--namespace', 'cli'], { encoding: 'utf8' })
  const listed = cli('inspect')
  assert.equal(listed.status, 0, listed.stderr)
  assert.match(listed.stdout, /job\s+failed\s+\S+\s+gw\s+.*boom/)
  assert.equal(cli('approve', 'job', '--by', 'ops').status, 0)
  assert.equal(cli('approve', 'job', '--by', 'ops').status, 1)
  assert.deepEqual(JSON.parse(cli('stats', '--json').stdout), { running: 0, stale: 0, failed: 0, approved: 1 })
})

test('redis: calls in flight together share script calls, and each key gets its own answer', opts, async () => {
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout.trim()
  const scriptCalls = () => {
    const stats = cli('INFO', 'commandstats')
    const calls = (name) => Number(stats.match(new RegExp(`cmdstat_${name}:calls=(\\d+)`))?.[1] ?? 0)
    return calls('evalsha') + calls('eval')
  }
  const g = await TaskGuard.open({ store: server.url, namespace: 'batched' })
  const other = await TaskGuard.open({ store: server.url, namespace: 'batched' })
  // The server's clock, and both scripts loaded, once.
  await g.release('warm-up', (await g.acquire('warm-up')).runId)
  await other.acquire('warm-up-other')
  // A key this guard has never seen is computed as absent: one script call, not a read first.
  let before = scriptCalls()
  assert.equal((await g.acquire('new-key')).status, 'acquired')
  assert.equal(scriptCalls() - before, 1, 'a new key costs one script call')

  // Every third key is held by another guard (another connection), unknown to g.
  const keys = Array.from({ length: 96 }, (_, i) => `k${i}`)
  const held = new Map()
  for (const k of keys.filter((_, i) => i % 3 === 0)) held.set(k, (await other.acquire(k)).runId)
  before = scriptCalls()
  const answers = await Promise.all(keys.map((k) => g.acquire(k)))
  const calls = scriptCalls() - before
  keys.forEach((k, i) => {
    if (held.has(k)) {
      assert.equal(answers[i].status, 'already_running', k)
      assert.equal(answers[i].runId, held.get(k), k)
    } else {
      assert.equal(answers[i].status, 'acquired', k)
    }
  })
  // 96 calls, 32 of which must compute again from what the server returned.
  assert.ok(calls < 96, `${calls} script calls for 96 calls`)
  // And released together, each only by its own run.
  const released = await Promise.all(keys.map((k, i) => g.release(k, held.has(k) ? 'f0000000-0000-7000-8000-000000000000' : answers[i].runId)))
  keys.forEach((k, i) => assert.equal(released[i].status, held.has(k) ? 'not_owner' : 'released', k))
  const view = await other.inspect({ limit: 1000 })
  assert.deepEqual(view.guards.map((x) => x.key).sort(), [...held.keys(), 'new-key', 'warm-up-other'].sort())
  await g.close()
  await other.close()
})

test('redis: a server in cluster mode gets one key per script call (a script may not span hash slots)', opts, async () => {
  const clustered = await redis.startRedis({ cluster: true })
  try {
    const g = await TaskGuard.open({ store: clustered.url, namespace: 'c' })
    const keys = Array.from({ length: 48 }, (_, i) => `k${i}`)
    const first = await Promise.all(keys.map((k) => g.acquire(k)))
    assert.deepEqual(first.map((a) => a.status), keys.map(() => 'acquired'))
    const again = await Promise.all(keys.map((k) => g.acquire(k)))
    assert.deepEqual(again.map((a) => a.runId), first.map((a) => a.runId), 'each key answers its own run')
    const released = await Promise.all(keys.map((k, i) => g.release(k, first[i].runId)))
    assert.deepEqual(released.map((r) => r.status), keys.map(() => 'released'))
    await g.close()
  } finally {
    await clustered.stop()
  }
})

test('redis: a server that lost the scripts (SCRIPT FLUSH, a restart) gets them again within the call', opts, async () => {
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout.trim()
  const g = await open()
  const a = await g.acquire('flushed')
  assert.equal(cli('SCRIPT', 'FLUSH'), 'OK')
  const b = await g.acquire('flushed')
  assert.equal(b.status, 'already_running')
  assert.equal(b.runId, a.runId)
  assert.equal(cli('SCRIPT', 'FLUSH'), 'OK')
  assert.equal((await g.release('flushed', a.runId)).status, 'released')
  await g.close()
})

test('redis: a user the server does not let run INFO gets one key per script call (cluster mode cannot be ruled out)', opts, async () => {
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout.trim()
  assert.equal(cli('ACL', 'SETUSER', 'noinfo', 'on', '>secret', '~*', '&*', '+@all', '-info'), 'OK')
  const scriptCalls = () => Number(cli('INFO', 'commandstats').match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0)
  const g = await TaskGuard.open({ store: `redis://noinfo:secret@127.0.0.1:${server.port}/0`, namespace: 'noinfo' })
  await g.acquire('warm-up')
  const keys = Array.from({ length: 48 }, (_, i) => `k${i}`)
  const before = scriptCalls()
  const answers = await Promise.all(keys.map((k) => g.acquire(k)))
  assert.deepEqual(answers.map((a) => a.status), keys.map(() => 'acquired'))
  assert.equal(scriptCalls() - before, keys.length, 'one script call a key')
  await g.close()
  cli('ACL', 'DELUSER', 'noinfo')
})
