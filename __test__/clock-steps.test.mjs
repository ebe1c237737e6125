// Lease expiry does not follow wall-clock steps (NTP, `date -s`, a VM resumed):
// processes whose wall clock libfaketime steps by an hour, forward and back, all
// at once or one alone, on one SQLite file and on the memory store. A live run
// is never judged stale; a dead one is healed once its TTL has passed. Shown
// times stay wall-clock times.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import helpers from './helpers.cjs'

const WORKER = new URL('./fixtures/clock-worker.mjs', import.meta.url).pathname
const HOUR = 3_600_000
// The TTL of runs meant to die, and how long the test lets real time pass for
// them to: the waiting is the thing measured, there is no event to wait for.
const SHORT_TTL = 400
const PAST_SHORT_TTL = 700

const { libfaketime } = helpers
const opts = libfaketime
  ? {}
  : process.env.CI === 'true'
    ? (() => { throw new Error('libfaketime is required in CI') })()
    : { skip: 'libfaketime is not installed' }

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-clock-'))
const workers = []
after(() => {
  for (const w of workers) w.child.kill('SIGKILL')
})

/** A wall clock offset that the test steps; every process given it follows. */
function wallClock(name) {
  const file = path.join(dir, `${name}.faketime`)
  fs.writeFileSync(file, '+0\n')
  return { file, step: (offset) => fs.writeFileSync(file, `${offset}\n`) }
}

/**
 * A worker process on `store`, its wall clock following `clock`, once it has
 * opened the store. Workers open one at a time: libfaketime also fakes the
 * sleeps of SQLite's busy handler, so opens that contend would give up at once.
 */
async function worker(store, clock) {
  const child = spawn(process.execPath, [WORKER, store], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      LD_PRELOAD: libfaketime,
      FAKETIME_TIMESTAMP_FILE: clock.file,
      FAKETIME_NO_CACHE: '1',
      // A real step moves the wall clock only; the boot and monotonic clocks do not step.
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  })
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const w = {
    child,
    async call(cmd) {
      child.stdin.write(`${JSON.stringify(cmd)}\n`)
      const { value, done } = await lines.next()
      assert.ok(!done, 'the worker exited')
      const r = JSON.parse(value)
      assert.equal(r.error, undefined, `worker refused ${cmd.op}: ${r.error}`)
      return r
    },
    acquire: (key, ttlMs) => w.call({ op: 'acquire', key, ttlMs }),
    close: () => w.call({ op: 'close' }),
  }
  workers.push(w)
  const { value } = await lines.next()
  assert.equal(JSON.parse(value ?? '{}').ready, true, 'the worker did not open its store')
  return w
}

const near = (a, b, within, what) => assert.ok(Math.abs(a - b) < within, `${what}: ${a} is not within ${within} ms of ${b}`)

test('SQLite, every process stepped an hour forward at once: a live run stays live; shown times follow the wall clock', opts, async () => {
  const store = `sqlite:${path.join(dir, 'forward.db')}`
  const clock = wallClock('forward')
  const a = await worker(store, clock)
  const b = await worker(store, clock)
  const run = await a.acquire('k', 60_000)
  assert.equal(run.status, 'acquired')
  clock.step('+1h')
  const dup = await b.acquire('k', 60_000)
  assert.equal(dup.status, 'already_running', 'judged stale after a forward step')
  assert.equal(dup.runId, run.runId)
  near(dup.wall - run.wall, HOUR, 5_000, 'the worker really saw the step')
  near(dup.startedAt, dup.wall, 5_000, 'startedAt is shown on the wall clock as it reads now')
  near(dup.expiresAt - dup.startedAt, 60_000, 10, 'the lease keeps its length')
  await a.close()
  await b.close()
})

test('SQLite, every process stepped an hour back at once: a dead run is healed when its TTL has passed', opts, async () => {
  const store = `sqlite:${path.join(dir, 'back.db')}`
  const clock = wallClock('back')
  const a = await worker(store, clock)
  const b = await worker(store, clock)
  const run = await a.acquire('k', SHORT_TTL)
  clock.step('-1h')
  await sleep(PAST_SHORT_TTL)
  const next = await b.acquire('k', 60_000)
  assert.equal(next.status, 'acquired', 'a dead run was kept alive by a backward step')
  assert.equal(next.healedFrom, run.runId)
  near(run.wall - next.wall, HOUR, 5_000, 'the worker really saw the step')
  await a.close()
  await b.close()
})

test('SQLite, one process an hour ahead and one an hour behind the others: both judge leases alike', opts, async () => {
  const store = `sqlite:${path.join(dir, 'one-alone.db')}`
  const right = await worker(store, wallClock('right'))
  const aheadClock = wallClock('ahead')
  const behindClock = wallClock('behind')
  aheadClock.step('+1h')
  behindClock.step('-1h')
  const ahead = await worker(store, aheadClock)
  const behind = await worker(store, behindClock)

  const live = await right.acquire('live', 60_000)
  for (const w of [ahead, behind]) {
    const r = await w.acquire('live', 60_000)
    assert.equal(r.status, 'already_running', `a process ${w === ahead ? 'ahead' : 'behind'} judged a live run stale`)
    assert.equal(r.runId, live.runId)
  }
  // Runs granted by a process ahead or behind are not born stale, nor immortal.
  const fromAhead = await ahead.acquire('from-ahead', 60_000)
  assert.equal((await right.acquire('from-ahead', 60_000)).status, 'already_running')
  assert.equal((await behind.acquire('from-ahead', 60_000)).runId, fromAhead.runId)
  const short = await behind.acquire('short', SHORT_TTL)
  const shortToo = await right.acquire('short-too', SHORT_TTL)
  await sleep(PAST_SHORT_TTL)
  assert.equal((await right.acquire('short', 60_000)).healedFrom, short.runId)
  assert.equal((await behind.acquire('short-too', 60_000)).healedFrom, shortToo.runId)
  for (const w of [right, ahead, behind]) await w.close()
})

test('memory store, its process stepped an hour forward then back: live runs stay live, dead ones are healed on time', opts, async () => {
  const clock = wallClock('memory')
  const w = await worker('memory:', clock)
  const live = await w.acquire('live', 60_000)
  const dying = await w.acquire('dying', SHORT_TTL)
  clock.step('+1h')
  const dup = await w.acquire('live', 60_000)
  assert.equal(dup.status, 'already_running', 'judged stale after a forward step')
  near(dup.wall - live.wall, HOUR, 5_000, 'the worker really saw the step')
  near(dup.startedAt, dup.wall, 5_000, 'startedAt is shown on the wall clock as it reads now')
  const shown = await w.call({ op: 'inspect' })
  const view = shown.guards.find((g) => g.key === 'live')
  assert.equal(view.state, 'running')
  assert.ok(view.expiresAt > shown.wall && view.expiresAt <= shown.wall + 60_000, 'expiresAt is a wall-clock time still ahead')
  near(shown.now, shown.wall, 1_000, 'inspect().now is the wall clock')

  clock.step('-1h')
  await sleep(PAST_SHORT_TTL)
  const healed = await w.acquire('dying', 60_000)
  assert.equal(healed.status, 'acquired', 'a dead run was kept alive by a backward step')
  assert.equal(healed.healedFrom, dying.runId)
  assert.equal((await w.acquire('live', 60_000)).status, 'already_running')
  await w.close()
})
