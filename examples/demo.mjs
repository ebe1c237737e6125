// npm run demo: five triggers for one task arrive while it runs, first without
// a guard, then with the guard taken at trigger time; then a failing run that
// blocks its key until an operator approves a retry. The guards live in an
// SQLite file, so the CLI can inspect them afterwards.
import fs from 'node:fs'
import { TaskGuard, taskKey } from '../index.mjs'
import { SessionLane, work } from './session-lane.mjs'

const session = 'agent:main:telegram:direct:123456'
const key = taskKey(session, 'weekly-report')
const rows = []
const row = (scenario, trigger, outcome) => rows.push({ scenario, trigger, outcome })

async function withoutGuard() {
  const lane = new SessionLane()
  let executions = 0
  const runs = []
  for (let t = 1; t <= 5; t++) {
    runs.push(lane.enqueue(async () => { executions++; await work(100) }))
    row('no guard', t, 'queued; runs when the lane frees')
    await work(5)
  }
  await Promise.all(runs)
  return executions
}

async function withGuard(guard) {
  const lane = new SessionLane()
  let executions = 0
  const runs = []
  for (let t = 1; t <= 5; t++) {
    const r = await guard.acquire(key, { owner: `trigger-${t}`, ttlMs: 60_000 })
    if (r.status === 'acquired') {
      runs.push(lane.enqueue(async () => {
        executions++
        await work(100)
        await guard.release(key, r.runId, 'succeeded')
      }))
      row('guard at trigger', t, `acquired run ${r.runId.slice(-8)}, queued`)
    } else {
      row('guard at trigger', t, `${r.status}: run ${r.runId.slice(-8)} by ${r.owner}`)
    }
    await work(5)
  }
  await Promise.all(runs)
  return executions
}

async function failingRun(guard) {
  const flaky = taskKey(session, 'sync-inbox')
  const attempt = () => guard.run(flaky, async (lease) => {
    if (lease.attempt === 1) throw new Error('IMAP login failed')
    return `synced on attempt ${lease.attempt}`
  }).catch((err) => ({ status: 'threw', error: err.message }))

  const first = await attempt()
  row('failing run', 1, `ran and failed: ${first.error}`)
  const second = await attempt()
  row('failing run', 2, `${second.status} (failed run ${second.failedRunId.slice(-8)}: ${second.error})`)
  const approval = await guard.approveRetry(flaky, { approvedBy: 'ops', reason: 'password rotated' })
  row('failing run', '-', `operator approveRetry → ${approval.status}`)
  const third = await attempt()
  row('failing run', 3, `${third.status}: ${third.value}`)
}

async function leaveOneFailed(guard) {
  const backup = taskKey(session, 'nightly-backup')
  await guard.run(backup, async () => { throw new Error('bucket quota exceeded') }).catch(() => {})
  row('left for the CLI', 1, `${backup} failed: bucket quota exceeded`)
}

const DB = 'task-guard-demo.db'
for (const f of [DB, `${DB}-wal`, `${DB}-shm`]) fs.rmSync(f, { force: true })
const guard = await TaskGuard.open({ store: `sqlite:./${DB}` })
const unguarded = await withoutGuard()
const guarded = await withGuard(guard)
await failingRun(guard)
await leaveOneFailed(guard)
await guard.close()

console.table(rows)
console.log(`\n5 triggers for "${key}":`)
console.log(`  without a guard: ${unguarded} executions`)
console.log(`  with the guard:  ${guarded} execution, ${5 - guarded} answered already_running`)
console.log(`\nThe guards are kept in ./${DB}; an operator looks at them with:\n  npx task-guard inspect --store sqlite:./${DB}`)
