// Values a caller passes (issue 12): what is thrown gets recorded, never
// refused; ill-formed strings, broken options and unreadable objects are
// refused with a code before anything changes; a release naming nothing
// running says so; a waiting acquire is one conflict.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import vm from 'node:vm'
import { TaskGuard, taskKey } from '../index.mjs'
import helpers from './helpers.cjs'
import sqliteHelpers from './sqlite-helpers.cjs'
import redis from './redis-helpers.cjs'

const { rejectsWith, snapshot } = helpers
const { tempDir } = sqliteHelpers
const INVALID = 'ERR_TASK_GUARD_INVALID_ARG'

async function sqliteGuard(options = {}) {
  const dir = tempDir()
  return TaskGuard.open({ store: `sqlite:${path.join(dir, 'g.db')}`, ...options })
}

const stores = [
  ['memory', async (options) => new TaskGuard(options)],
  ['sqlite', sqliteGuard],
]

// --- release(key, runId, 'failed', { error: anything thrown }) ---------------

const revoked = Proxy.revocable({}, {})
revoked.revoke()
const trap = () => {
  throw new Error('trap')
}
const thrown = [
  ['an Error', new Error('boom'), 'boom'],
  ['an Error of another realm', vm.runInNewContext('new Error("x")'), 'x'],
  ['a TypeError of another realm', vm.runInNewContext('(() => { try { null.f } catch (e) { return e } })()'), /Cannot read properties of null/],
  ['a plain object with a message', { message: 'plain' }, 'plain'],
  ['a plain object without one', { code: 'E_X', status: 500 }, '{"code":"E_X","status":500}'],
  ['a string', 'text', 'text'],
  ['null', null, 'null'],
  ['a number', 42, '42'],
  ['a BigInt', 10n, '10'],
  ['a Symbol', Symbol('s'), 'Symbol(s)'],
  ['Object.create(null)', Object.create(null), /./],
  ['an object whose toString throws', { toString: trap, toJSON: trap }, /./],
  ['an object whose message getter throws', { get message() { throw new Error('getter') } }, /./],
  ['a Proxy whose traps throw', new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, has: trap, getOwnPropertyDescriptor: trap }), /./],
  ['a revoked Proxy', revoked.proxy, /./],
  ['an Error with an empty message', new RangeError(''), 'RangeError'],
  ['an Error whose message is not a string', Object.assign(new Error('x'), { message: 7 }), '7'],
]

for (const [storeName, open] of stores) {
  for (const [name, value, expected] of thrown) {
    test(`${storeName}: release 'failed' records ${name} and ends the run`, async () => {
      const g = await open()
      const r = await g.acquire('k')
      const rel = await g.release('k', r.runId, 'failed', { error: value })
      assert.equal(rel.status, 'released')
      const blocked = await g.acquire('k')
      assert.equal(blocked.status, 'awaiting_approval')
      assert.equal(typeof blocked.error, 'string')
      if (typeof expected === 'string') assert.equal(blocked.error, expected)
      else assert.match(blocked.error, expected)
      await g.close()
    })
  }
}

test("the README's catch block: release(key, runId, 'failed', { error: err }) with whatever was thrown", async () => {
  const g = new TaskGuard()
  const r = await g.acquire('job')
  try {
    vm.runInNewContext('throw new Error("from a vm")')
  } catch (err) {
    assert.equal((await g.release('job', r.runId, 'failed', { error: err })).status, 'released')
  }
  assert.equal((await g.inspect()).guards[0].error, 'from a vm')
})

test('an error text with a lone surrogate is recorded with U+FFFD in its place', async () => {
  const g = new TaskGuard()
  const r = await g.acquire('k')
  await g.release('k', r.runId, 'failed', { error: new Error('bad \uD83D text') })
  assert.equal((await g.inspect()).guards[0].error, 'bad \uFFFD text')
})

// --- ill-formed UTF-16 -------------------------------------------------------

test("lone surrogates do not collide: 'job\\uD83D' and 'job\\uD83E' are refused, 'job\\uFFFD' is its own key", async () => {
  const g = new TaskGuard()
  const r = await g.acquire('job\uFFFD')
  assert.equal(r.status, 'acquired')
  const before = await snapshot(g)
  await rejectsWith(g.acquire('job\uD83D'), INVALID, /well-formed/)
  await rejectsWith(g.release('job\uD83E', r.runId), INVALID, /well-formed/)
  await rejectsWith(g.heartbeat('job\uD83E', r.runId), INVALID, /well-formed/)
  await rejectsWith(g.forceRelease('job\uD83D'), INVALID, /well-formed/)
  await rejectsWith(g.approveRetry('job\uD83D'), INVALID, /well-formed/)
  await rejectsWith(g.run('job\uD83D', async () => {}), INVALID, /well-formed/)
  assert.equal(await snapshot(g), before)
  assert.equal((await g.inspect()).guards[0].state, 'running')
})

const illFormed = [
  ['runId', (g, r) => g.release('k', r.runId.slice(0, 35) + '\uDC00')],
  ['heartbeat runId', (g, r) => g.heartbeat('k', r.runId.slice(0, 35) + '\uDC00')],
  ['acquire owner', (g) => g.acquire('other', { owner: 'me\uD800' })],
  ['run owner', (g) => g.run('other', async () => {}, { owner: '\uDFFFme' })],
  ['approvedBy', (g) => g.approveRetry('failed', { approvedBy: 'ops\uD800' })],
  ['approve reason', (g) => g.approveRetry('failed', { reason: 'why\uDC00' })],
  ['force by', (g) => g.forceRelease('k', { by: 'ops\uD800' })],
  ['force reason', (g) => g.forceRelease('k', { reason: '\uD800' })],
  ['inspect prefix', (g) => g.inspect({ prefix: 'k\uD800' })],
  ['inspect state', (g) => g.inspect({ state: 'running\uD800' })],
]

for (const [name, call] of illFormed) {
  test(`an ill-formed string is refused with ${INVALID} and changes nothing: ${name}`, async () => {
    const g = new TaskGuard()
    const r = await g.acquire('k')
    const f = await g.acquire('failed')
    await g.release('failed', f.runId, 'failed')
    const before = await snapshot(g)
    await rejectsWith(Promise.resolve().then(() => call(g, r)), INVALID, /well-formed/)
    assert.equal(await snapshot(g), before)
  })
}

test('ill-formed guard options are refused: owner, namespace, store', async () => {
  for (const options of [{ owner: 'gw\uD800' }, { namespace: 'ns\uDC00' }, { store: 'memory:\uD800' }]) {
    assert.throws(() => new TaskGuard(options), { code: INVALID })
    await rejectsWith(TaskGuard.open(options), INVALID)
  }
  const dir = tempDir()
  await rejectsWith(TaskGuard.open({ store: `sqlite:${path.join(dir, 'a\uD800.db')}` }), INVALID, /well-formed/)
  assert.deepEqual(fs.readdirSync(dir), [])
})

test('taskKey refuses ill-formed parts', () => {
  assert.throws(() => taskKey('agent:main:web:1\uD800', 'report'), { code: INVALID })
  assert.throws(() => taskKey('agent:main:web:1', 'report\uDC00'), { code: INVALID })
  assert.equal(taskKey('agent:main:web:1', 'r\uFFFD'), 'agent:main:web:1::r\uFFFD')
})

test('meta is JSON: a lone surrogate in it is escaped, kept and shown exactly', async () => {
  for (const [, open] of stores) {
    const g = await open()
    await g.acquire('k', { meta: { note: 'half \uD83D', [`key\uDC00`]: 1 } })
    assert.deepEqual((await g.inspect()).guards[0].meta, { note: 'half \uD83D', [`key\uDC00`]: 1 })
    await g.close()
  }
})

// --- guard options accepted today but broken -----------------------------------

test('a guard-level owner over the owner limit is refused at construction and open', async () => {
  const owner = 'o'.repeat(257)
  assert.throws(() => new TaskGuard({ owner }), { code: INVALID })
  await rejectsWith(TaskGuard.open({ owner }), INVALID, /owner/)
  const dir = tempDir()
  await rejectsWith(TaskGuard.open({ owner, store: `sqlite:${path.join(dir, 'g.db')}` }), INVALID, /owner/)
  assert.deepEqual(fs.readdirSync(dir), [])
  // At the limit it is fine, and used.
  const g = new TaskGuard({ owner: 'é'.repeat(128) })
  assert.equal((await g.acquire('k')).owner, 'é'.repeat(128))
})

test("namespace '' is refused (leave it out for none)", async () => {
  assert.throws(() => new TaskGuard({ namespace: '' }), { code: INVALID, message: /namespace/ })
  await rejectsWith(TaskGuard.open({ namespace: '' }), INVALID, /namespace/)
})

test('in-memory SQLite forms are refused as stores: they would not be durable', async () => {
  const dir = tempDir()
  const cwd = process.cwd()
  process.chdir(dir)
  try {
    for (const store of [
      'sqlite::memory:',
      'sqlite://:memory:',
      'sqlite:file::memory:?cache=shared',
      'sqlite:file::memory:',
      'sqlite:file:guards.db?mode=memory',
      'sqlite:file:guards.db?mode=memory&cache=shared',
      'sqlite:file:?mode=memory',
      'sqlite:file:guards.db?vfs=memdb',
      'sqlite://file:guards.db?mode=memory',
    ]) {
      await rejectsWith(TaskGuard.open({ store }), INVALID, /sqlite|SQLite/)
    }
    assert.deepEqual(fs.readdirSync(dir), [])
  } finally {
    process.chdir(cwd)
  }
})

// --- refusals that had no code ---------------------------------------------

test(`a BigInt status is refused with ${INVALID}`, async () => {
  const g = new TaskGuard()
  const r = await g.acquire('k')
  const before = await snapshot(g)
  await rejectsWith(g.release('k', r.runId, 10n), INVALID, /status/)
  await rejectsWith(g.release('k', r.runId, { toJSON: trap }), INVALID, /status/)
  assert.equal(await snapshot(g), before)
})

const boom = new Error('getter boom')
const throwingGetter = (name) => ({
  get [name]() {
    throw boom
  },
})
const throwingProxy = () => new Proxy({}, { ownKeys: () => { throw boom }, get: () => { throw boom }, getOwnPropertyDescriptor: () => { throw boom } })

const unreadable = [
  ['acquire options with a throwing getter', (g) => g.acquire('new', throwingGetter('ttlMs'))],
  ['acquire options as a throwing Proxy', (g) => g.acquire('new', throwingProxy())],
  ['acquire options as a revoked Proxy', (g) => g.acquire('new', revoked.proxy), TypeError],
  ['release options with a throwing getter', (g, r) => g.release('k', r.runId, 'failed', throwingGetter('error'))],
  ['release options as a throwing Proxy', (g, r) => g.release('k', r.runId, 'failed', throwingProxy())],
  ['heartbeat options with a throwing getter', (g, r) => g.heartbeat('k', r.runId, throwingGetter('ttlMs'))],
  ['approveRetry options with a throwing getter', (g) => g.approveRetry('failed', throwingGetter('reason'))],
  ['forceRelease options as a throwing Proxy', (g) => g.forceRelease('k', throwingProxy())],
  ['inspect options with a throwing getter', (g) => g.inspect(throwingGetter('prefix'))],
  ['run options with a throwing getter', (g) => g.run('new', async () => {}, throwingGetter('owner'))],
  ['meta whose toJSON throws', (g) => g.acquire('new', { meta: { toJSON: () => { throw boom } } })],
  ['meta whose toJSON throws a non-Error', (g) => g.acquire('new', { meta: { toJSON: () => { throw undefined } } }), undefined, true],
  ['a signal whose Proxy traps throw', (g) => g.acquire('k', { waitMs: 10, signal: new Proxy(new AbortController().signal, { getPrototypeOf: () => { throw boom }, get: () => { throw boom } }) })],
]

for (const [name, call, causeType = Error, causeIsUndefined = false] of unreadable) {
  test(`unreadable input is refused with ${INVALID}, its error as cause, nothing changed: ${name}`, async () => {
    const g = new TaskGuard()
    const r = await g.acquire('k')
    const f = await g.acquire('failed')
    await g.release('failed', f.runId, 'failed')
    const before = await snapshot(g)
    await assert.rejects(Promise.resolve().then(() => call(g, r)), (err) => {
      assert.ok(err instanceof Error)
      assert.equal(err.code, INVALID, err.message)
      if (causeIsUndefined) assert.ok('cause' in err && err.cause === undefined)
      else if (causeType === Error) assert.equal(err.cause, boom)
      else if (causeType) assert.ok(err.cause instanceof causeType)
      return true
    })
    assert.equal(await snapshot(g), before)
  })
}

test('guard options with a throwing getter or Proxy are refused with the error as cause', async () => {
  for (const options of [throwingGetter('store'), throwingGetter('owner'), throwingProxy()]) {
    assert.throws(() => new TaskGuard(options), (err) => err.code === INVALID && err.cause === boom)
    await assert.rejects(TaskGuard.open(options), (err) => err.code === INVALID && err.cause === boom)
  }
})

test('guard options are read once: open() does not read a getter twice', async () => {
  let reads = 0
  const g = await TaskGuard.open({
    get owner() {
      reads++
      return 'once'
    },
  })
  assert.equal(reads, 1)
  assert.equal(g.owner, 'once')
})

// --- not_running, and a runId that is not one -------------------------------

for (const [storeName, open] of stores) {
  test(`${storeName}: a release naming a key with nothing running answers not_running`, async () => {
    const g = await open()
    const r = await g.acquire('k')
    assert.equal((await g.release('k', r.runId)).status, 'released')
    const other = await g.acquire('other')
    // Never acquired: nothing running, and no history of this run.
    assert.deepEqual(await g.release('idle', other.runId), { status: 'not_running', key: 'idle', runId: other.runId })
    // A failed key runs nothing either; a running key answers a foreign run not_owner.
    await g.release('other', other.runId, 'failed')
    const foreign = (await new TaskGuard().acquire('x')).runId
    assert.equal((await g.release('other', foreign)).status, 'not_running')
    const again = await g.acquire('k')
    assert.equal((await g.release('k', foreign)).status, 'not_owner')
    assert.equal((await g.inspect({ prefix: 'k' })).guards[0].runId, again.runId)
    await g.close()
  })
}

test("release(key, 'succeeded') (runId forgotten) is refused as a bad runId; the run stays running", async () => {
  for (const [, open] of stores) {
    const g = await open()
    const r = await g.acquire('k')
    const before = await snapshot(g)
    await rejectsWith(g.release('k', 'succeeded'), INVALID, /runId/)
    await rejectsWith(g.release('k', 'failed', 'failed'), INVALID, /runId/)
    await rejectsWith(g.heartbeat('k', 'not-a-run'), INVALID, /runId/)
    await rejectsWith(g.release('k', r.runId.toUpperCase()), INVALID, /runId/)
    await rejectsWith(g.release('k', r.runId.replace(/^(.{14})7/, '$14')), INVALID, /runId/)
    await rejectsWith(g.release('k', ` ${r.runId}`), INVALID, /runId/)
    assert.equal(await snapshot(g), before)
    assert.equal((await g.inspect()).guards[0].state, 'running')
    await g.close()
  }
})

// --- a waiting acquire is one conflict ---------------------------------------

for (const [storeName, open] of stores) {
  test(`${storeName}: a waiting acquire emits one conflict event, however often it looks again`, async () => {
    const g = await open({ pollMs: 5 })
    const seen = []
    g.onEvent((e) => seen.push(`${e.type}:${e.status ?? e.releaseStatus ?? ''}`))
    const first = await g.acquire('k')
    // Runs out: a conflict, whatever the waiter looked at meanwhile.
    assert.equal((await g.acquire('k', { waitMs: 60 })).status, 'already_running')
    assert.deepEqual(seen, ['acquired:', 'conflict:already_running'])
    // Gets in after the release: one conflict, then the grant.
    seen.length = 0
    const waiting = g.acquire('k', { waitMs: 10_000 })
    await new Promise((resolve) => setTimeout(resolve, 40))
    await g.release('k', first.runId)
    assert.equal((await waiting).status, 'acquired')
    assert.deepEqual(seen, ['conflict:already_running', 'released:succeeded', 'acquired:'])
    await g.close()
  })
}

test('redis: not_running, a bad runId refused, one conflict per waiting acquire', redis.redisTest(), async () => {
  const server = await redis.startRedis()
  try {
    const g = await TaskGuard.open({ store: server.url, pollMs: 5 })
    const seen = []
    g.onEvent((e) => seen.push(`${e.type}:${e.status ?? ''}`))
    const r = await g.acquire('k')
    assert.equal((await g.release('idle', r.runId)).status, 'not_running')
    await rejectsWith(g.release('k', 'succeeded'), INVALID, /runId/)
    assert.equal((await g.acquire('k', { waitMs: 60 })).status, 'already_running')
    assert.deepEqual(seen, ['acquired:', 'conflict:already_running'])
    await g.close()
  } finally {
    await server.stop()
  }
})

test('a result option whose getter throws, a Proxy result, and another realm\'s values: refused or kept, never half-done', async () => {
  const g = new TaskGuard({ replayMs: 60_000 })
  const a = await g.acquire('k')
  const getterThrows = { get result() { throw new Error('getter') } }
  await assert.rejects(g.release('k', a.runId, 'succeeded', getterThrows), (err) => err.code === 'ERR_TASK_GUARD_INVALID_ARG' && err instanceof Error && err.cause?.message === 'getter')
  const trap = new Proxy({}, { ownKeys() { throw new Error('trap') } })
  await assert.rejects(g.release('k', a.runId, 'succeeded', { result: trap }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  assert.equal((await g.outcome('k', a.runId)).status, 'running', 'nothing was released')
  const foreign = vm.runInNewContext('({ list: [1, 2], when: new Date(0), err: new Error("x") })')
  assert.equal((await g.release('k', a.runId, 'succeeded', { result: foreign })).status, 'released')
  assert.deepEqual((await g.acquire('k')).result, { list: [1, 2], when: '1970-01-01T00:00:00.000Z', err: {} })
  await assert.rejects(g.outcome(null, a.runId), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  await assert.rejects(g.outcome('k', a.runId, { signal: {} }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  await g.close()
})
