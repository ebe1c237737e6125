import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { TaskGuard } from '../index.mjs'
import helpers from './sqlite-helpers.cjs'
import { checkHistory } from './history-check.mjs'

const { tempDir, runFixture, sql } = helpers
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname

test('restart: every state written by one process is as it was in the next', async () => {
  const file = path.join(tempDir(), 'guards.db')
  const written = JSON.parse(await runFixture('write-states.cjs', [file]))
  const g = await TaskGuard.open({ store: `sqlite:${file}` })
  const { guards, counts } = await g.inspect()
  assert.deepEqual(counts, { running: 1, stale: 0, failed: 1, approved: 1 })
  const byKey = Object.fromEntries(guards.map((x) => [x.key, x]))
  assert.equal(byKey.running.runId, written.running.runId)
  assert.equal(byKey.running.owner, 'writer')
  assert.deepEqual(byKey.running.meta, { job: 7 })
  assert.equal(byKey.failed.error, 'disk full')
  assert.equal(byKey.approved.approvedBy, 'ops')
  assert.equal(byKey.approved.reason, 'retry it')
  // A failed run does not retry silently after a restart.
  const f = await g.acquire('failed')
  assert.equal(f.status, 'awaiting_approval')
  assert.equal(f.failedRunId, written.failed)
  assert.equal((await g.acquire('running')).runId, written.running.runId)
  const retry = await g.acquire('approved')
  assert.equal(retry.status, 'acquired')
  assert.equal(retry.attempt, 2)
  // The released run's late duplicate release is still recognised.
  assert.equal((await g.release('done', written.done)).status, 'already_released')
  // The dead writer's run heals at its expiry (a waiting acquire takes it then).
  const healed = await g.acquire('running', { waitMs: 30_000 })
  assert.equal(healed.healedFrom.runId, written.running.runId)
  assert.ok(healed.fencingToken > written.running.fencingToken)
  await g.close()
})

test('4 processes x 1,500 random ops on one file: no overlapping runs, fences strictly increasing', async () => {
  const file = path.join(tempDir(), 'guards.db')
  // Create the file first so the workers race on guards, not on the schema.
  await (await TaskGuard.open({ store: `sqlite:${file}` })).close()
  const outs = await Promise.all([0, 1, 2, 3].map((w) => runFixture('history-worker.cjs', [`sqlite:${file}`, String(w), '1500', '8', '6'])))
  const entries = outs.flatMap((o) => o.trim().split('\n').map((l) => JSON.parse(l)))
  assert.ok(entries.length >= 4 * 1200, `${entries.length} answered ops`)
  const conflicts = entries.filter((e) => e.status === 'already_running').length
  const result = checkHistory(entries)
  assert.ok(result.grants > 300, `only ${result.grants} grants`)
  assert.ok(conflicts > 100, `only ${conflicts} conflicts: the processes did not contend`)
  assert.equal(result.overlaps, 0)
  assert.equal(result.misordered, 0)
  assert.deepEqual(sql(file, ['PRAGMA integrity_check']), [['ok']])
})

test('the history checker catches an overlap and a misordered fence', () => {
  const e = (op, key, runId, fence, t0, t1, status = op === 'acquire' ? 'acquired' : 'released') => ({ op, key, runId, fence, t0: String(t0), t1: String(t1), status })
  const overlap = checkHistory([e('acquire', 'k', 'a', 1, 0, 1), e('acquire', 'k', 'b', 2, 2, 3), e('release', 'k', 'a', 0, 4, 5)])
  assert.equal(overlap.overlaps, 1)
  const misordered = checkHistory([e('acquire', 'k', 'a', 5, 0, 1), e('release', 'k', 'a', 0, 2, 3), e('acquire', 'k', 'b', 2, 4, 5)])
  assert.ok(misordered.misordered > 0)
})

test('kill -9 mid-load: the file is intact, no failure is lost, the dead runs heal at expiry', async () => {
  const file = path.join(tempDir(), 'guards.db')
  const child = spawn(process.execPath, [path.join(FIXTURES, 'kill-worker.cjs'), file], { stdio: ['ignore', 'pipe', 'inherit'] })
  const held = new Map()
  const failed = new Map()
  await new Promise((resolve, reject) => {
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const [what, key, runId] = buf.slice(0, i).split(' ')
        buf = buf.slice(i + 1)
        if (what === 'HELD') held.set(key, runId)
        if (what === 'FAILED') failed.set(key, runId)
        if (what === 'LOADING') setTimeout(resolve, 300) // let writes be in flight
      }
    })
    child.on('exit', (code) => reject(new Error(`worker exited early (${code})`)))
  })
  child.removeAllListeners('exit')
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal)))
  child.kill('SIGKILL')
  assert.equal(await exited, 'SIGKILL')
  assert.equal(held.size, 20)
  assert.equal(failed.size, 20)

  const g = await TaskGuard.open({ store: `sqlite:${file}` })
  assert.deepEqual(sql(file, ['PRAGMA integrity_check']), [['ok']])
  for (const [key, runId] of failed) {
    const r = await g.acquire(key)
    assert.equal(r.status, 'awaiting_approval', key)
    assert.equal(r.failedRunId, runId)
  }
  for (const [key, runId] of held) assert.equal((await g.acquire(key)).runId, runId)
  // The killed worker's runs heal at their expiry (5 s): a waiting acquire takes each then.
  for (const [key, runId] of held) {
    const r = await g.acquire(key, { waitMs: 30_000 })
    assert.equal(r.status, 'acquired')
    assert.equal(r.healedFrom.runId, runId)
  }
  await g.close()
})
