import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { TaskGuard } from '../index.mjs'
import helpers from './sqlite-helpers.cjs'
import { checkMixedBatch } from './mixed-batch.mjs'

const { tempDir } = helpers

async function open(extra = {}) {
  const dir = tempDir()
  const file = path.join(dir, 'guards.db')
  return { dir, file, guard: await TaskGuard.open({ store: `sqlite:${file}`, ...extra }) }
}

test('sqlite: namespaces share a file without seeing each other', async () => {
  const { file, guard: a } = await open({ namespace: 'tenant-a' })
  const b = await TaskGuard.open({ store: `sqlite:${file}`, namespace: 'tenant-b' })
  assert.equal((await a.acquire('k')).status, 'acquired')
  assert.equal((await b.acquire('k')).status, 'acquired')
  assert.deepEqual((await a.inspect()).guards.map((g) => g.key), ['k'])
  await a.close()
  await b.close()
})

test('sqlite: relative, absolute and sqlite:/// paths name the same file', async () => {
  const dir = tempDir()
  const abs = path.join(dir, 'g.db')
  const g1 = await TaskGuard.open({ store: `sqlite:${abs}` })
  await g1.acquire('k')
  await g1.close()
  const g2 = await TaskGuard.open({ store: `sqlite://${abs}` })
  assert.equal((await g2.acquire('k')).status, 'already_running')
  await g2.close()
  const cwd = process.cwd()
  process.chdir(dir)
  try {
    const g3 = await TaskGuard.open({ store: 'sqlite:./g.db' })
    assert.equal((await g3.acquire('k')).status, 'already_running')
    await g3.close()
  } finally {
    process.chdir(cwd)
  }
})

test("sqlite: 'sqlite::memory:', an empty path and bad durability are refused", async () => {
  for (const options of [{ store: 'sqlite::memory:' }, { store: 'sqlite:' }, { store: 'sqlite:/tmp/x.db', durability: 'fast' }, { store: 'sqlite:/tmp/x.db', groupCommit: 'yes' }]) {
    await assert.rejects(TaskGuard.open(options), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  }
  assert.throws(() => new TaskGuard({ store: 'sqlite:/tmp/x.db' }), { code: 'ERR_TASK_GUARD_INVALID_ARG', message: /TaskGuard\.open/ })
})

test('sqlite: bad input is refused before anything is written', async () => {
  const { guard: g } = await open({ maxKeyBytes: 8 })
  await assert.rejects(g.acquire('much-too-long-key'), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  await assert.rejects(g.acquire('k', { ttlMs: NaN }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  await assert.rejects(g.inspect({ state: 'idle' }), { code: 'ERR_TASK_GUARD_INVALID_ARG' })
  assert.deepEqual((await g.inspect()).guards, [])
  await g.close()
  await assert.rejects(g.acquire('k'), { code: 'ERR_TASK_GUARD_CLOSED' })
})

test('sqlite: calls made before close are still answered', async () => {
  const { file, guard: g } = await open()
  const calls = Array.from({ length: 200 }, (_, i) => g.acquire(`k${i}`))
  await g.close()
  assert.ok((await Promise.all(calls)).every((r) => r.status === 'acquired'))
  const again = await TaskGuard.open({ store: `sqlite:${file}` })
  assert.equal((await again.inspect()).counts.running, 200)
  await again.close()
})

test('sqlite: a waiting acquire sees a release made by another guard on the file', async () => {
  const { file, guard: holder } = await open()
  const waiter = await TaskGuard.open({ store: `sqlite:${file}`, pollMs: 10 })
  const held = await holder.acquire('k')
  const waiting = waiter.acquire('k', { waitMs: 10_000, owner: 'patient' })
  await holder.release('k', held.runId)
  const r = await waiting
  assert.equal(r.status, 'acquired')
  assert.equal(r.owner, 'patient')
  await holder.close()
  await waiter.close()
})

test('sqlite: an idle durable guard does not keep the process alive', async () => {
  const { spawnSync } = await import('node:child_process')
  const file = path.join(tempDir(), 'g.db')
  const script = `
    const { TaskGuard } = require(${JSON.stringify(new URL('../index.js', import.meta.url).pathname)})
    TaskGuard.open({ store: 'sqlite:${file}' }).then(async (g) => { await g.acquire('k'); console.log('done') })`
  const child = spawnSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout.trim(), 'done')
  assert.ok(fs.existsSync(file))
})

test('sqlite: while one call\'s answer is due the event loop keeps turning (an immediate), and it stops once none is', async () => {
  const g = await TaskGuard.open({ store: `sqlite:${path.join(tempDir(), 'g.db')}` })
  const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length
  await new Promise(setImmediate)
  const before = immediates()
  const pending = g.acquire('k')
  assert.equal(immediates(), before + 1, 'an answer is due: the loop is turned, not slept in')
  assert.equal((await pending).status, 'acquired')
  // The turn after the answer sees nothing due and does not ask for another.
  await new Promise(setImmediate)
  await new Promise(setImmediate)
  assert.equal(immediates(), before, 'nothing due: the loop may sleep')
  await g.close()
})

test('sqlite: answers with an error, with events and with neither, made together, each reach their own call', async () => {
  const file = path.join(tempDir(), 'guards.db')
  const g = await TaskGuard.open({ store: `sqlite:${file}` })
  const held = await g.acquire('held')
  const other = await g.acquire('other', { owner: 'gateway-2' })
  const newer = await g.acquire('newer')
  await g.release('newer', newer.runId)
  helpers.sql(file, [`UPDATE guards SET record = replace(record, '{"v":1,', '{"v":2,') WHERE key = 'newer'`])
  await checkMixedBatch(g, held, other, 'newer')
  await g.close()
})

test('sqlite: idle history past retentionMs is purged, fences keep rising, failed guards stay', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'guards.db')
  const store = `sqlite:${file}`
  const g = await TaskGuard.open({ store, retentionMs: 0 })
  const a = await g.acquire('idle')
  await g.release('idle', a.runId)
  const f = await g.acquire('failed')
  await g.release('failed', f.runId, 'failed')
  await g.close()
  // A new guard purges on its first commit.
  const g2 = await TaskGuard.open({ store, retentionMs: 0 })
  await g2.inspect()
  assert.deepEqual(helpers.sql(file, ['SELECT key FROM guards ORDER BY key']), [['failed']])
  const [[floor]] = helpers.sql(file, ["SELECT value FROM meta WHERE name = 'fence_floor'"])
  assert.equal(floor, a.fencingToken)
  const b = await g2.acquire('idle')
  assert.ok(b.fencingToken > a.fencingToken)
  assert.equal((await g2.acquire('failed')).status, 'awaiting_approval')
  await g2.close()
})
