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
    assert.deepEqual(values('task_guard_acquires_total', 'answer'), { acquired: 5, already_running: 1, awaiting_approval: 2, payload_mismatch: 1 })
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
}
