// The SQLite store: acquire+release pairs/s, sequential and 64 in flight,
// with group commit vs one transaction per call, beside the memory store.
// Each contender runs for a fixed time; rounds interleave the contenders.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { TaskGuard } from '../index.js'
import { goal } from './goals.mjs'

const SECONDS = Number(process.env.BENCH_SQLITE_SECONDS ?? 2)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const IN_FLIGHT = 64
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-guard-bench-'))

const contenders = {
  'sqlite full, group commit': { durability: 'full', groupCommit: true },
  'sqlite full, txn per call': { durability: 'full', groupCommit: false },
  'sqlite normal, group commit': { durability: 'normal', groupCommit: true },
  'memory': null,
}

let n = 0
async function open(options) {
  if (options === null) return TaskGuard.open()
  return TaskGuard.open({ store: `sqlite:${path.join(dir, `b${n++}.db`)}`, ...options })
}

async function pairsPerSecond(options, lanes) {
  const guard = await open(options)
  const deadline = performance.now() + SECONDS * 1000
  let pairs = 0
  const lane = async (w) => {
    const key = `session-${w}::task`
    while (performance.now() < deadline) {
      const r = await guard.acquire(key)
      if (r.status !== 'acquired') throw new Error(`unexpected ${r.status}`)
      await guard.release(key, r.runId)
      pairs++
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: lanes }, (_, w) => lane(w)))
  const rate = pairs / ((performance.now() - t0) / 1000)
  await guard.close()
  return rate
}

/** Sequential acquires of a key another run holds: every answer is `already_running` and writes nothing. */
async function conflictsPerSecond(options) {
  const guard = await open(options)
  await guard.acquire('held::task', { ttlMs: 600_000 })
  const deadline = performance.now() + SECONDS * 1000
  let answers = 0
  const t0 = performance.now()
  while (performance.now() < deadline) {
    const r = await guard.acquire('held::task')
    if (r.status !== 'already_running') throw new Error(`unexpected ${r.status}`)
    answers++
  }
  const rate = answers / ((performance.now() - t0) / 1000)
  await guard.close()
  return rate
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (x) => Math.round(x).toLocaleString('en-US')

let sequentialPairs
console.log(`\nSQLite store (WAL), ${SECONDS} s per contender, ${ROUNDS} interleaved rounds, medians`)
for (const lanes of [1, IN_FLIGHT]) {
  const rates = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  const ratios = []
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, options] of Object.entries(contenders)) rates[name].push(await pairsPerSecond(options, lanes))
    ratios.push(rates['sqlite full, group commit'].at(-1) / rates['sqlite full, txn per call'].at(-1))
  }
  console.log(`acquire+release pairs/s, ${lanes === 1 ? 'sequential' : `${lanes} in flight`}`)
  for (const name of Object.keys(contenders)) console.log(`  ${name.padEnd(28)} ${fmt(median(rates[name])).padStart(10)}`)
  console.log(`  group commit / txn per call (durability full): ${median(ratios).toFixed(1)}x\n`)
  if (lanes === 1) sequentialPairs = median(rates['sqlite full, group commit'])
}

const conflicts = []
for (let round = 0; round < ROUNDS; round++) conflicts.push(await conflictsPerSecond(contenders['sqlite full, group commit']))
const conflictRate = median(conflicts)
console.log('conflict answers/s, sequential (a held key; each answer writes nothing)')
console.log(`  sqlite full, group commit    ${fmt(conflictRate).padStart(10)}   ${(conflictRate / sequentialPairs).toFixed(1)}x its acquire+release pairs/s\n`)
goal({
  id: 'sqlite.conflicts.sequential',
  figure: 'SQLite (full) sequential conflict answers / pairs',
  value: conflictRate / sequentialPairs,
  unit: 'x',
  op: '>=',
  target: 10,
  from: { 'conflict answers/s': conflictRate, 'acquire+release pairs/s': sequentialPairs, rounds: ROUNDS },
})
fs.rmSync(dir, { recursive: true, force: true })
