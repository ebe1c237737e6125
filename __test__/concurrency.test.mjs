import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskGuard } from '../index.mjs'

test('10,000 concurrent acquires of one key: exactly one acquired, 9,999 name its run', async () => {
  const g = new TaskGuard()
  const answers = await Promise.all(Array.from({ length: 10_000 }, (_, i) => g.acquire('hot::task', { owner: `w${i}` })))
  const won = answers.filter((a) => a.status === 'acquired')
  assert.equal(won.length, 1)
  const lost = answers.filter((a) => a.status === 'already_running')
  assert.equal(lost.length, 9_999)
  for (const a of lost) {
    assert.equal(a.runId, won[0].runId)
    assert.equal(a.owner, won[0].owner)
    assert.equal(a.startedAt, won[0].startedAt)
  }
})

test('1,000 keys raced by 10 callers each: one winner per key', async () => {
  const g = new TaskGuard()
  const calls = []
  for (let c = 0; c < 10; c++) for (let k = 0; k < 1000; k++) calls.push(g.acquire(`s${k}::t`))
  const answers = await Promise.all(calls)
  const winners = new Map()
  for (const a of answers) if (a.status === 'acquired') winners.set(a.key, (winners.get(a.key) ?? 0) + 1)
  assert.equal(winners.size, 1000)
  assert.ok([...winners.values()].every((n) => n === 1))
  assert.equal((await g.inspect()).counts.running, 1000)
})

test('interleaved acquire/release from 200 async workers never overlaps runs of a key', async () => {
  const g = new TaskGuard()
  const live = new Map()
  let overlaps = 0
  let granted = 0
  const winners = new Set()
  const worker = async (w) => {
    for (let i = 0; i < 200; i++) {
      const key = `k${(w + i) % 7}`
      const r = await g.acquire(key)
      if (r.status !== 'acquired') {
        // A refusal settles in a microtask; without a turn here a loser would spend
        // all its tries before any holder released, and nothing would interleave.
        await new Promise(setImmediate)
        continue
      }
      granted++
      winners.add(w)
      if (live.has(key)) overlaps++
      live.set(key, r.runId)
      await new Promise(setImmediate) // let others race while the run is held
      live.delete(key)
      assert.equal((await g.release(key, r.runId)).status, 'released')
    }
  }
  await Promise.all(Array.from({ length: 200 }, (_, w) => worker(w)))
  assert.equal(overlaps, 0)
  // Every key is held and freed over and over, by many workers, or nothing raced.
  assert.ok(granted >= 7 * 100, `granted ${granted}`)
  assert.ok(winners.size >= 100, `${winners.size} workers ever won`)
})

test('bursts of duplicates answer the run that holds the key now, as its holder changes between bursts', async () => {
  const g = new TaskGuard()
  for (const owner of ['a:1', 'b:2', 'c:3']) {
    const run = await g.acquire('hot::task', { owner })
    const answers = await Promise.all(Array.from({ length: 5_000 }, () => g.acquire('hot::task')))
    assert.ok(answers.every((a) => a.status === 'already_running' && a.runId === run.runId && a.owner === owner), owner)
    await g.release('hot::task', run.runId)
  }
  // Two guards' duplicates, interleaved: each answers its own run.
  const other = new TaskGuard()
  const mine = await g.acquire('hot::task', { owner: 'm:1' })
  const theirs = await other.acquire('hot::task', { owner: 'o:1' })
  for (let i = 0; i < 100; i++) {
    const [a, b] = await Promise.all([g.acquire('hot::task'), other.acquire('hot::task')])
    assert.deepEqual([a.runId, a.owner, b.runId, b.owner], [mine.runId, 'm:1', theirs.runId, 'o:1'])
  }
})
