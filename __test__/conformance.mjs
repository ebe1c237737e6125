// What every store answers alike, run unchanged against each of them
// (conformance.test.mjs: memory and SQLite; redis-core.mjs: Redis, plain and
// over TLS). `open()` gives a fresh guard that shares nothing with the others.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { fingerprint } from '../index.mjs'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'

const NOT_A_RUN = '0189f7a2-3b4c-7d5e-8f60-123456789abc'

/** Real time must pass for a lease to end: every store's clock is a real one here. */
const pastExpiry = (run) => sleep(Math.max(0, run.expiresAt - Date.now()) + 5)

export function conformance(label, opts, open) {
  test(`${label}: every answer of the state machine`, opts, async () => {
    const g = await open()
    const a = await g.acquire('k', { owner: 'alice', ttlMs: 60_000, meta: { n: 1 } })
    assert.equal(a.status, 'acquired')
    assert.equal(a.owner, 'alice')
    assert.equal(a.attempt, 1)
    assert.equal(a.healedFrom, null)
    assert.equal(a.expiresAt - a.startedAt, 60_000)
    const dup = await g.acquire('k', { owner: 'bob' })
    assert.deepEqual({ ...dup }, { status: 'already_running', key: 'k', runId: a.runId, fencingToken: a.fencingToken, startedAt: a.startedAt, expiresAt: a.expiresAt, attempt: 1, owner: 'alice' })
    const beat = await g.heartbeat('k', a.runId, { ttlMs: 90_000 })
    assert.equal(beat.status, 'extended')
    assert.ok(beat.expiresAt > a.expiresAt, "extended past the first lease")
    assert.equal((await g.heartbeat('k', NOT_A_RUN)).status, 'not_owner')
    assert.equal((await g.release('k', NOT_A_RUN)).status, 'not_owner')
    assert.equal((await g.release('k', a.runId, 'failed', { error: 'boom' })).status, 'released')
    assert.equal((await g.release('k', a.runId)).status, 'already_released')
    const blocked = await g.acquire('k')
    assert.equal(blocked.status, 'awaiting_approval')
    assert.equal(blocked.failedRunId, a.runId)
    assert.equal(blocked.error, 'boom')
    const { guards } = await g.inspect()
    assert.deepEqual(guards.map((x) => [x.key, x.state, x.meta, x.error]), [['k', 'failed', { n: 1 }, 'boom']])
    const approved = await g.approveRetry('k', { approvedBy: 'ops', reason: 'fixed' })
    assert.equal(approved.status, 'approved')
    assert.equal(approved.nextAttempt, 2)
    assert.equal((await g.approveRetry('k')).status, 'not_failed')
    assert.equal((await g.inspect()).guards[0].approvedBy, 'ops')
    const b = await g.acquire('k', { ttlMs: 100 })
    assert.equal(b.attempt, 2)
    assert.ok(b.fencingToken > a.fencingToken)
    await pastExpiry(b)
    const stale = await g.inspect()
    assert.equal(stale.guards[0].state, 'stale')
    assert.deepEqual(stale.counts, { running: 0, stale: 1, failed: 0, approved: 0 })
    const c = await g.acquire('k', { ttlMs: 60_000 })
    assert.equal(c.status, 'acquired')
    assert.equal(c.healedFrom.runId, b.runId)
    assert.equal((await g.release('k', b.runId)).status, 'lost')
    assert.equal((await g.heartbeat('k', b.runId)).status, 'lost')
    const forced = await g.forceRelease('k', { by: 'ops', reason: 'host died' })
    assert.equal(forced.status, 'released')
    assert.equal(forced.runId, c.runId)
    assert.equal((await g.release('k', c.runId)).status, 'lost')
    assert.deepEqual(await g.forceRelease('k'), { status: 'not_running', key: 'k' })
    assert.equal((await g.release('idle', NOT_A_RUN)).status, 'not_running')
    assert.equal((await g.heartbeat('idle', NOT_A_RUN)).status, 'not_running')
    await g.close()
  })

  test(`${label}: onStale 'fail' turns a stale run into a failure awaiting approval`, opts, async () => {
    const g = await open({ onStale: 'fail' })
    const old = await g.acquire('k', { ttlMs: 100 })
    await pastExpiry(old)
    const a = await g.acquire('k')
    assert.equal(a.status, 'awaiting_approval')
    assert.equal(a.failedRunId, old.runId)
    assert.match(a.error, /stale/)
    assert.equal((await g.release('k', old.runId)).status, 'lost')
    assert.equal((await g.approveRetry('k')).status, 'approved')
    assert.equal((await g.acquire('k')).attempt, 2)
    await g.close()
  })

  test(`${label}: a waiting acquire takes a stale run at its expiry`, opts, async () => {
    const g = await open()
    const old = await g.acquire('k', { ttlMs: 100 })
    const r = await g.acquire('k', { waitMs: 10_000 })
    assert.equal(r.status, 'acquired')
    assert.equal(r.healedFrom.runId, old.runId)
    await g.close()
  })

  test(`${label}: 10,000 concurrent acquires of one key: one winner, every other answer names it`, opts, async () => {
    const g = await open()
    const answers = await Promise.all(Array.from({ length: 10_000 }, () => g.acquire('hot')))
    const won = answers.filter((a) => a.status === 'acquired')
    assert.equal(won.length, 1)
    assert.ok(answers.every((a) => a.runId === won[0].runId))
    await g.close()
  })

  test(`${label}: events arrive with the answers, one per thing that happened`, opts, async () => {
    const g = await open()
    const seen = []
    g.onEvent((e) => seen.push([e.type, e.key, e.status ?? e.releaseStatus ?? e.cause ?? null]))
    const a = await g.acquire('k')
    await g.acquire('k')
    await g.release('k', a.runId, 'failed', { error: 'x' })
    await g.approveRetry('k')
    const b = await g.acquire('k')
    await g.release('k', b.runId)
    assert.deepEqual(seen, [
      ['acquired', 'k', null],
      ['conflict', 'k', 'already_running'],
      ['failed', 'k', 'released'],
      ['approved', 'k', null],
      ['acquired', 'k', null],
      ['released', 'k', 'succeeded'],
    ])
    await g.close()
  })

  test(`${label}: a different payload is told apart from a duplicate, while running and while failed`, opts, async () => {
    const g = await open()
    const a = fingerprint({ report: 'weekly', week: 47 })
    const b = fingerprint({ report: 'weekly', week: 48 })
    const first = await g.acquire('k', { fingerprint: a })
    assert.equal((await g.acquire('k', { fingerprint: a })).status, 'already_running')
    assert.equal((await g.acquire('k')).status, 'already_running', 'no fingerprint: no evidence either way')
    const other = await g.acquire('k', { fingerprint: b, waitMs: 5_000 })
    assert.deepEqual({ ...other }, { status: 'payload_mismatch', key: 'k', runId: first.runId, fingerprint: b, expected: a })
    await g.release('k', first.runId, 'failed', { error: 'x' })
    assert.equal((await g.acquire('k', { fingerprint: b })).status, 'payload_mismatch')
    assert.equal((await g.acquire('k', { fingerprint: a })).status, 'awaiting_approval')
    await g.approveRetry('k')
    const next = await g.acquire('k', { fingerprint: b })
    assert.equal(next.status, 'acquired', 'an approved retry may carry another payload')
    assert.equal((await g.acquire('k', { fingerprint: a })).expected, b)
    await g.close()
  })

  test(`${label}: metrics count what the store answered, in Prometheus text a Prometheus parser reads`, opts, async () => {
    const g = await open({ onStale: 'fail' })
    const a = await g.acquire('a', { fingerprint: 'f1' })
    await g.acquire('a')
    await g.acquire('a', { fingerprint: 'f2' })
    await g.release('a', a.runId, 'failed', { error: 'x' })
    await g.acquire('a')
    await g.approveRetry('a')
    const b = await g.acquire('a', { ttlMs: 100 })
    await pastExpiry(b)
    await g.acquire('a') // stale under onStale 'fail': failed, awaiting approval
    const c = await g.acquire('c')
    await g.release('c', c.runId, 'cancelled')
    await g.acquire('d')
    await g.forceRelease('d')
    await g.acquire('e')
    const families = Object.fromEntries(parsePrometheusTextFormat(await g.metrics()).map((f) => [f.name, f]))
    const values = (name, label) => Object.fromEntries(families[name].metrics.map((m) => [label ? m.labels[label] : '', Number(m.value)]))
    assert.equal(families.task_guard_acquires_total.type, 'COUNTER')
    assert.deepEqual(values('task_guard_acquires_total', 'answer'), { acquired: 5, already_running: 1, awaiting_approval: 2, payload_mismatch: 1, already_completed: 0 })
    assert.deepEqual(values('task_guard_releases_total', 'status'), { succeeded: 0, failed: 1, cancelled: 1, forced: 1 })
    assert.deepEqual(values('task_guard_failures_total', 'cause'), { released: 1, stale: 1 })
    assert.deepEqual(values('task_guard_approvals_total'), { '': 1 })
    assert.deepEqual(values('task_guard_heals_total'), { '': 0 })
    assert.equal(families.task_guard_guards.type, 'GAUGE')
    assert.deepEqual(values('task_guard_guards', 'state'), { running: 1, stale: 0, failed: 1, approved: 0 })
    const h = families.task_guard_run_duration_seconds
    assert.equal(h.type, 'HISTOGRAM')
    assert.equal(Number(h.metrics[0].count), 2, 'two runs released (the forced one is not a release of its owner)')
    assert.equal(Number(h.metrics[0].buckets['+Inf']), 2)
    assert.ok(Number(h.metrics[0].sum) >= 0 && Number(h.metrics[0].sum) < 60)
    await g.close()
  })

  test(`${label}: strings beyond ASCII, answered together, each in its own answer`, opts, async () => {
    const g = await open()
    const owners = ['alice', 'wéekly', '😀 bot', '日本語の所有者', 'plain']
    const keys = ['k-ascii', 'k-é', 'k-😀', 'k-日本', 'k-last']
    const runs = await Promise.all(keys.map((k, i) => g.acquire(k, { owner: owners[i], meta: { note: `méta ${owners[i]}` } })))
    assert.deepEqual(runs.map((r) => [r.status, r.owner]), owners.map((o) => ['acquired', o]))
    // Duplicates of every key in flight together: on a durable store, one batch of answers.
    const dups = await Promise.all([...keys, ...keys].map((k) => g.acquire(k, { owner: 'someone else' })))
    for (const [i, d] of dups.entries()) {
      const r = runs[i % keys.length]
      assert.deepEqual([d.status, d.key, d.runId, d.owner], ['already_running', keys[i % keys.length], r.runId, r.owner])
    }
    const errors = ['échec 😀', 'boom', '失敗しました']
    await Promise.all(errors.map((error, i) => g.release(keys[i], runs[i].runId, 'failed', { error })))
    const blocked = await Promise.all(keys.slice(0, 3).map((k) => g.acquire(k)))
    assert.deepEqual(blocked.map((b) => [b.status, b.failedRunId, b.error]), errors.map((e, i) => ['awaiting_approval', runs[i].runId, e]))
    const { guards } = await g.inspect()
    const byKey = Object.fromEntries(guards.map((x) => [x.key, x]))
    for (const [i, k] of keys.entries()) {
      assert.equal(byKey[k].owner, owners[i])
      assert.deepEqual(byKey[k].meta, { note: `méta ${owners[i]}` })
      if (i < 3) assert.equal(byKey[k].error, errors[i])
    }
    await g.close()
  })

  test(`${label}: a success is replayed within replayMs with its result, then the key is free`, opts, async () => {
    const g = await open({ replayMs: 1_500 })
    const report = { rows: 3, title: 'wéekly 😀', nested: [1, null, { ok: true }] }
    const a = await g.acquire('k')
    const released = await g.release('k', a.runId, 'succeeded', { result: report })
    assert.equal(released.status, 'released')
    const again = await g.acquire('k')
    assert.deepEqual({ ...again }, { status: 'already_completed', key: 'k', runId: a.runId, endedAt: released.endedAt, result: report })
    // run() answers it too, without calling its task.
    let called = 0
    const ran = await g.run('k', () => ++called)
    assert.deepEqual(ran, { status: 'already_completed', key: 'k', runId: a.runId, endedAt: again.endedAt, value: report })
    assert.equal(called, 0)
    // A success without a result is replayed too (nothing to give back).
    const b = await g.acquire('bare')
    await g.release('bare', b.runId)
    const bare = await g.acquire('bare')
    assert.equal(bare.status, 'already_completed')
    assert.equal(bare.result, undefined)
    // Failures and cancellations are not replayed.
    const c = await g.acquire('c')
    await g.release('c', c.runId, 'cancelled')
    assert.equal((await g.acquire('c')).status, 'acquired')
    const f = await g.acquire('f')
    await g.release('f', f.runId, 'failed', { error: 'boom' })
    assert.equal((await g.acquire('f')).status, 'awaiting_approval')
    const answers = parsePrometheusTextFormat(await g.metrics()).find((f) => f.name === 'task_guard_acquires_total')
    assert.equal(Number(answers.metrics.find((m) => m.labels.answer === 'already_completed').value), 3, 'replays are counted')
    // After the window, a new run.
    // Slack for Redis, whose command times may trail the server's clock by up to 250 ms.
    await sleep(Math.max(0, again.endedAt + 1_500 - Date.now()) + 300)
    const next = await g.acquire('k')
    assert.equal(next.status, 'acquired')
    assert.equal(next.attempt, 1)
    await g.close()
  })

  test(`${label}: run() stores its task's value as the result when JSON can carry it, else releases without one`, opts, async () => {
    const g = await open({ replayMs: 60_000, maxResultBytes: 100 })
    const done = await g.run('json', () => ({ n: 1, when: new Date(0) }))
    assert.equal(done.status, 'completed')
    assert.equal(done.releasedAs, 'succeeded')
    assert.deepEqual((await g.outcome('json', done.runId)).result, { n: 1, when: '1970-01-01T00:00:00.000Z' }, 'as JSON carries it')
    for (const [key, value] of [
      ['undefined', undefined],
      ['function', () => 1],
      ['bigint', 1n],
      ['too-big', 'x'.repeat(200)],
      ['cycle', (() => { const o = {}; o.o = o; return o })()],
      ['throwing-toJSON', { toJSON() { throw new Error('no') } }],
    ]) {
      const r = await g.run(key, () => value)
      assert.equal(r.status, 'completed', key)
      assert.equal(r.value, value, `${key}: the caller gets its value itself`)
      assert.equal(r.releasedAs, 'succeeded', `${key}: the success is recorded whatever the value`)
      const o = await g.outcome(key, r.runId)
      assert.deepEqual([o.status, o.result], ['succeeded', undefined], key)
      assert.equal((await g.acquire(key)).status, 'already_completed', `${key}: replayed, without a result`)
    }
    await g.close()
  })

  test(`${label}: a result that cannot be stored is refused before anything changes`, opts, async () => {
    const g = await open({ maxResultBytes: 64 })
    const a = await g.acquire('k')
    const cycle = {}
    cycle.self = cycle
    for (const [what, status, result] of [
      ['too large', 'succeeded', 'x'.repeat(63)],
      ['not JSON', 'succeeded', () => 1],
      ['a cycle', 'succeeded', cycle],
      ['a bigint', 'succeeded', 10n],
      ['a throwing toJSON', 'succeeded', { toJSON() { throw new TypeError('nope') } }],
      ['on a failure', 'failed', { n: 1 }],
      ['on a cancellation', 'cancelled', 1],
    ]) {
      await assert.rejects(g.release('k', a.runId, status, { result }), { code: 'ERR_TASK_GUARD_INVALID_ARG' }, what)
    }
    assert.equal((await g.acquire('k')).status, 'already_running', 'the run still runs')
    assert.equal((await g.outcome('k', a.runId)).status, 'running')
    assert.equal((await g.release('k', a.runId, 'succeeded', { result: 'x'.repeat(62) })).status, 'released', '64 bytes as JSON fits')
    await g.close()
  })

  test(`${label}: replayMs and maxResultBytes are checked at open`, opts, async () => {
    for (const bad of [{ replayMs: -1 }, { replayMs: 1.5 }, { replayMs: Number.NaN }, { replayMs: '10' }, { replayMs: 2_000, retentionMs: 1_000 }, { maxResultBytes: -1 }, { maxResultBytes: 16_777_217 }]) {
      await assert.rejects(async () => open(bad), { code: 'ERR_TASK_GUARD_INVALID_ARG' }, JSON.stringify(bad))
    }
    const g = await open({ replayMs: 1_000, retentionMs: 1_000 })
    await g.close()
  })

  test(`${label}: a changed payload is told apart within the replay window`, opts, async () => {
    const g = await open({ replayMs: 60_000 })
    const a = fingerprint({ report: 'weekly', week: 47 })
    const b = fingerprint({ report: 'weekly', week: 48 })
    const first = await g.acquire('k', { fingerprint: a })
    await g.release('k', first.runId, 'succeeded', { result: 'sent' })
    assert.equal((await g.acquire('k', { fingerprint: a })).status, 'already_completed')
    assert.equal((await g.acquire('k')).status, 'already_completed', 'no fingerprint: no evidence either way')
    const other = await g.acquire('k', { fingerprint: b })
    assert.deepEqual({ ...other }, { status: 'payload_mismatch', key: 'k', runId: first.runId, fingerprint: b, expected: a })
    await g.close()
  })

  test(`${label}: outcome() tells how each run ended, and waits for a running one`, opts, async () => {
    const g = await open()
    assert.deepEqual(await g.outcome('k', NOT_A_RUN), { status: 'unknown', key: 'k', runId: NOT_A_RUN })
    const a = await g.acquire('k', { ttlMs: 60_000 })
    assert.deepEqual(await g.outcome('k', a.runId), { status: 'running', key: 'k', runId: a.runId, expiresAt: a.expiresAt })
    const waiting = g.outcome('k', a.runId, { waitMs: 30_000 })
    const timedOut = await g.outcome('k', a.runId, { waitMs: 50 })
    assert.equal(timedOut.status, 'running', 'waitMs ran out: still running')
    await g.release('k', a.runId, 'succeeded', { result: [1, 2] })
    assert.deepEqual(await waiting, { status: 'succeeded', key: 'k', runId: a.runId, endedAt: (await g.outcome('k', a.runId)).endedAt, result: [1, 2] })

    // A failure keeps its error, also once approved and replaced by the next attempt.
    const f = await g.acquire('f')
    await g.release('f', f.runId, 'failed', { error: new Error('disk full') })
    assert.deepEqual(await g.outcome('f', f.runId), { status: 'failed', key: 'f', runId: f.runId, endedAt: (await g.outcome('f', f.runId)).endedAt, error: 'disk full' })
    await g.approveRetry('f')
    const f2 = await g.acquire('f')
    assert.equal(f2.attempt, 2)
    assert.equal((await g.outcome('f', f.runId)).error, 'disk full')
    assert.equal((await g.outcome('f', f2.runId)).status, 'running')

    // Cancelled, forced, healed.
    const c = await g.acquire('c')
    await g.release('c', c.runId, 'cancelled')
    assert.deepEqual(await g.outcome('c', c.runId), { status: 'cancelled', key: 'c', runId: c.runId, endedAt: (await g.outcome('c', c.runId)).endedAt, reason: null })
    const d = await g.acquire('d')
    await g.forceRelease('d', { by: 'ops', reason: 'host died' })
    assert.equal((await g.outcome('d', d.runId)).reason, 'forced by ops: host died')
    const s = await g.acquire('s', { ttlMs: 50 })
    const waitingOnStale = g.outcome('s', s.runId, { waitMs: 30_000 })
    await pastExpiry(s)
    const healer = await g.acquire('s')
    assert.equal(healer.healedFrom.runId, s.runId)
    const healed = await waitingOnStale
    assert.equal(healed.status, 'failed', 'a run healed away did not succeed')
    assert.match(healed.error, /stale/)

    // Under onStale 'fail', the acquire that records a stale run's failure ends it too.
    const failing = await open({ onStale: 'fail' })
    const f1 = await failing.acquire('s', { ttlMs: 50 })
    const waitingOnFailure = failing.outcome('s', f1.runId, { waitMs: 30_000 })
    await pastExpiry(f1)
    const t0 = performance.now()
    assert.equal((await failing.acquire('s')).status, 'awaiting_approval')
    const recorded = await waitingOnFailure
    assert.deepEqual([recorded.status, recorded.error?.includes('stale')], ['failed', true])
    assert.ok(performance.now() - t0 < 5_000, 'woken by the acquire that recorded the failure')
    await failing.close()

    // Only the newest ended run keeps its result.
    const r1 = await g.acquire('r')
    await g.release('r', r1.runId, 'succeeded', { result: 'one' })
    const r2 = await g.acquire('r')
    await g.release('r', r2.runId, 'succeeded', { result: 'two' })
    assert.deepEqual([(await g.outcome('r', r1.runId)).result, (await g.outcome('r', r2.runId)).result], [undefined, 'two'])

    // Bad input, aborts, close.
    await assert.rejects(g.outcome('k', 'not-a-run-id'), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
    await assert.rejects(g.outcome('k', a.runId, { waitMs: -1 }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
    await assert.rejects(g.outcome('k', a.runId, { wait: 1 }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
    const held = await g.acquire('h')
    const ac = new AbortController()
    const aborted = g.outcome('h', held.runId, { waitMs: 30_000, signal: ac.signal })
    ac.abort()
    await assert.rejects(aborted, { name: 'AbortError' })
    const pending = g.outcome('h', held.runId, { waitMs: 30_000 })
    await g.close()
    await assert.rejects(pending, { code: 'ERR_TASK_GUARD_CLOSED' })
  })

  test(`${label}: run() with join: duplicates wait for the running run and get its outcome`, opts, async () => {
    const g = await open()
    let release
    const gate = new Promise((r) => (release = r))
    let calls = 0
    const first = g.run('k', async () => {
      calls++
      await gate
      return { deployed: 'v2' }
    })
    while ((await g.inspect()).counts.running === 0) await sleep(1)
    const joiners = Array.from({ length: 20 }, () => g.run('k', () => ++calls, { join: true }))
    assert.equal((await g.run('k', () => ++calls)).status, 'already_running', 'without join: answered at once')
    release()
    const done = await first
    for (const j of await Promise.all(joiners)) {
      assert.deepEqual(j, { status: 'joined', key: 'k', runId: done.runId, outcome: 'succeeded', endedAt: j.endedAt, value: { deployed: 'v2' } })
    }
    assert.equal(calls, 1, 'the task ran once')

    // A failure is joined as a failure (and the key stays blocked).
    let fail
    const failing = g.run('f', () => new Promise((_, reject) => (fail = reject)))
    while (fail === undefined) await sleep(1)
    const joined = g.run('f', () => ++calls, { join: true })
    fail(new Error('deploy rejected'))
    await assert.rejects(failing, /deploy rejected/)
    const j = await joined
    assert.deepEqual([j.status, j.outcome, j.error], ['joined', 'failed', 'deploy rejected'])
    assert.equal((await g.run('f', () => ++calls, { join: true })).status, 'awaiting_approval')

    // waitMs bounds the join: then the conflict is answered.
    const slow = await g.acquire('slow')
    const gaveUp = await g.run('slow', () => ++calls, { join: true, waitMs: 50 })
    assert.deepEqual([gaveUp.status, gaveUp.runId], ['already_running', slow.runId])
    // A joined run that goes stale is healed by the joiner, who runs the task itself.
    const dead = await g.acquire('dead', { ttlMs: 80 })
    const took = await g.run('dead', () => 'mine', { join: true })
    assert.equal(took.status, 'completed')
    assert.equal(took.value, 'mine')
    assert.notEqual(took.runId, dead.runId)
    await assert.rejects(g.run('k', () => 1, { join: 'yes' }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
    assert.equal(calls, 1)
    await g.close()
  })
}
