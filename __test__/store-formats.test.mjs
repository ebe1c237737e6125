// A database written by task-guard 0.1.0 (fixtures/stores/task-guard-0.1.0.db, made
// by make-0.1.0.cjs beside it) keeps opening, and answers from what it holds:
// a running guard, a failed one, an approved one, one idle with history, and
// one in a namespace.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { TaskGuard } from '../index.mjs'
import helpers from './sqlite-helpers.cjs'

const STORES = new URL('./fixtures/stores/', import.meta.url).pathname
const made = JSON.parse(fs.readFileSync(path.join(STORES, 'task-guard-0.1.0.json'), 'utf8')).made
// The fixture's history is older than the default retention; keep it to check it.
const KEEP = { retentionMs: 10 * 365 * 24 * 3_600_000 }

/** A copy of the 0.1.0 file: opening migrates files in place. */
function copy() {
  return `sqlite:${copyFile()}`
}

function copyFile() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-0.1.0-'))
  const file = path.join(dir, 'guards.db')
  fs.copyFileSync(path.join(STORES, 'task-guard-0.1.0.db'), file)
  return file
}

/** Running until its (24-day) lease ends, then stale: either way the same run. */
const liveState = (run) => (run.expiresAt > Date.now() ? 'running' : 'stale')

test('0.1.0 database: inspect lists each guard as it was left', async () => {
  const g = await TaskGuard.open({ store: copy(), ...KEEP })
  const { guards, counts } = await g.inspect()
  const byKey = Object.fromEntries(guards.map((x) => [x.key, x]))
  assert.deepEqual(Object.keys(byKey).sort(), [made.approved.key, made.failed.key, made.running.key, `tenant-a/${made.namespaced.key}`].sort())
  const running = byKey[made.running.key]
  assert.equal(running.state, liveState(made.running))
  assert.equal(running.runId, made.running.runId)
  assert.equal(running.owner, 'gateway-1')
  assert.deepEqual(running.meta, { chat: 1, prompt: 'weekly report' })
  assert.equal(running.startedAt, made.running.startedAt)
  assert.equal(running.expiresAt, made.running.expiresAt)
  const failed = byKey[made.failed.key]
  assert.equal(failed.state, 'failed')
  assert.equal(failed.error, 'exit code 2')
  const approved = byKey[made.approved.key]
  assert.equal(approved.state, 'approved')
  assert.equal(approved.approvedBy, 'ops@example.com')
  assert.equal(approved.reason, 'disk cleaned')
  assert.equal(approved.owner, 'gateway-2')
  assert.equal(counts.failed, 1)
  assert.equal(counts.approved, 1)
  assert.equal(counts.running + counts.stale, 2)
  await g.close()
})

test('0.1.0 database: every guard answers as it would have', async () => {
  const store = copy()
  const g = await TaskGuard.open({ store, ...KEEP })
  if (liveState(made.running) === 'running') {
    const dup = await g.acquire(made.running.key)
    assert.equal(dup.status, 'already_running')
    assert.equal(dup.runId, made.running.runId)
    assert.equal((await g.heartbeat(made.running.key, made.running.runId)).status, 'extended')
  }
  const blocked = await g.acquire(made.failed.key)
  assert.equal(blocked.status, 'awaiting_approval')
  assert.equal(blocked.failedRunId, made.failed.runId)
  assert.equal(blocked.error, 'exit code 2')
  const retry = await g.acquire(made.approved.key)
  assert.equal(retry.status, 'acquired')
  assert.equal(retry.attempt, 2)
  assert.ok(retry.fencingToken > made.approved.fencingToken)
  assert.equal((await g.release(made.idle.key, made.idle.runId)).status, 'already_released', 'its history was read')
  const next = await g.acquire(made.idle.key)
  assert.equal(next.status, 'acquired')
  assert.ok(next.fencingToken > made.idle.fencingToken)
  await g.close()

  const ns = await TaskGuard.open({ store, namespace: 'tenant-a', ...KEEP })
  const nsDup = await ns.acquire(made.namespaced.key)
  assert.equal(nsDup.status, liveState(made.namespaced) === 'running' ? 'already_running' : 'acquired')
  if (nsDup.status === 'already_running') assert.equal(nsDup.runId, made.namespaced.runId)
  await ns.close()

  // Written by this version now, and opened again.
  const again = await TaskGuard.open({ store, ...KEEP })
  assert.equal((await again.acquire(made.approved.key)).runId, retry.runId)
  await again.close()
})

test('records are written in format version 1, which 0.1.0 reads; a newer version is refused untouched', async () => {
  const file = copyFile()
  const g = await TaskGuard.open({ store: `sqlite:${file}`, ...KEEP })
  const r = await g.acquire('new::task')
  await g.close()
  const [[text]] = helpers.sql(file, ["SELECT record FROM guards WHERE key = 'new::task'"])
  assert.match(text, /^\{"v":1,"phase":\{"Running":/)
  // Untouched 0.1.0 rows carry no version: read as 1 (above).
  const [[old]] = helpers.sql(file, [`SELECT record FROM guards WHERE key = '${made.failed.key}'`])
  assert.match(old, /^\{"phase":/)

  helpers.sql(file, [`UPDATE guards SET record = replace(record, '{"v":1,', '{"v":2,') WHERE key = 'new::task'`])
  const before = helpers.sql(file, ["SELECT record FROM guards WHERE key = 'new::task'"])
  const again = await TaskGuard.open({ store: `sqlite:${file}`, ...KEEP })
  await assert.rejects(again.acquire('new::task'), (e) => e.code === 'ERR_TASK_GUARD_STORE_VERSION' && /format version 2/.test(e.message))
  await assert.rejects(again.release('new::task', r.runId), { code: 'ERR_TASK_GUARD_STORE_VERSION' })
  assert.equal((await again.acquire(made.failed.key)).status, 'awaiting_approval', 'other records still answer')
  await again.close()
  assert.deepEqual(helpers.sql(file, ["SELECT record FROM guards WHERE key = 'new::task'"]), before)
})
