// npm run bench: acquire+release pairs through each guard's async API, in one
// process and one run, reported as ops/s and as ratios to the JS Map guard.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { TaskGuard } from '../index.js'
import { JsMapGuard } from './js-map-guard.mjs'
import { AsyncMutexGuard } from './async-mutex-guard.mjs'
import { goal, figure, report } from './goals.mjs'

const PAIRS = Number(process.env.BENCH_PAIRS ?? 300_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const IN_FLIGHT = 1000
const BASELINE = 'JS Map guard'

/**
 * The memory guard with replay and payload fingerprints on: every acquire carries a
 * fingerprint (kept on its run) and is checked against the replay window. Its pairs
 * release as cancelled (never replayed), so each acquire is granted as the others'
 * are and the pairs stay comparable.
 */
function replayingGuard() {
  const guard = new TaskGuard({ replayMs: 60_000 })
  const options = { fingerprint: 'sha256:3f1c6a0e9b8d7c5a4e2f1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e' }
  return {
    acquire: (key) => guard.acquire(key, options),
    release: (key, runId) => guard.release(key, runId, 'cancelled'),
  }
}

const contenders = {
  'task-guard (memory)': () => new TaskGuard(),
  'task-guard, replay+fp': replayingGuard,
  'JS Map guard': () => new JsMapGuard(),
  'async-mutex per key': () => new AsyncMutexGuard(),
}

async function sequential(guard, pairs) {
  for (let i = 0; i < pairs; i++) {
    const r = await guard.acquire('session::task')
    if (r.status !== 'acquired') throw new Error(`unexpected ${r.status}`)
    await guard.release('session::task', r.runId)
  }
}

async function inFlight(guard, pairs) {
  const per = Math.ceil(pairs / IN_FLIGHT)
  const worker = async (w) => {
    const key = `session-${w}::task`
    for (let i = 0; i < per; i++) {
      const r = await guard.acquire(key)
      if (r.status !== 'acquired') throw new Error(`unexpected ${r.status}`)
      await guard.release(key, r.runId)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)))
  return per * IN_FLIGHT
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function once(make, scenario) {
  const guard = make()
  const t0 = process.hrtime.bigint()
  const n = scenario === 'sequential' ? (await sequential(guard, PAIRS), PAIRS) : await inFlight(guard, PAIRS)
  return n / (Number(process.hrtime.bigint() - t0) / 1e9)
}

/**
 * Contenders take turns within each round, so drift in a shared machine's
 * speed hits them alike; ratios are taken within a round, then the median.
 */
async function compare(scenario) {
  const rates = Object.fromEntries(Object.keys(contenders).map((n) => [n, []]))
  const ratios = Object.fromEntries(Object.keys(contenders).map((n) => [n, []]))
  for (let round = 0; round < ROUNDS; round++) {
    const got = {}
    for (const [name, make] of Object.entries(contenders)) got[name] = await once(make, scenario)
    for (const name of Object.keys(contenders)) {
      rates[name].push(got[name])
      ratios[name].push(got[name] / got[BASELINE])
    }
  }
  return Object.fromEntries(Object.keys(contenders).map((n) => [n, { rate: median(rates[n]), ratio: median(ratios[n]) }]))
}

async function sameKeyRace(make, n) {
  const guard = make()
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  // Let the histogram take samples before and after, as a gateway's loop would.
  await new Promise((r) => setTimeout(r, 20))
  const t0 = process.hrtime.bigint()
  const answers = await Promise.all(Array.from({ length: n }, () => guard.acquire('hot::task')))
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  await new Promise((r) => setTimeout(r, 20))
  h.disable()
  const winners = answers.filter((a) => a.status === 'acquired').length
  return { ms, p99: h.percentile(99) / 1e6, max: h.max / 1e6, winners }
}

const fmt = (x) => Math.round(x).toLocaleString('en-US')

console.log(`node ${process.version}, ${PAIRS.toLocaleString('en-US')} pairs per round, ${ROUNDS} interleaved rounds, medians\n`)
for (const scenario of ['sequential', 'inFlight']) {
  const result = await compare(scenario)
  const what = scenario === 'sequential' ? 'sequential' : `${IN_FLIGHT} in flight`
  console.log(`acquire+release pairs/s, ${what}`)
  for (const [name, { rate, ratio }] of Object.entries(result)) {
    console.log(`  ${name.padEnd(22)} ${fmt(rate).padStart(12)}   ratio to JS Map ${ratio.toFixed(2)}`)
    figure(`memory.pairs.${scenario}.${name}`, { pairsPerSecond: rate, ratioToJsMap: ratio })
  }
  console.log()
  const ours = result['task-guard (memory)']
  if (scenario === 'sequential') {
    goal({
      id: 'memory.sequential.ratio',
      figure: 'memory pairs/s, sequential, ratio to JS Map guard',
      value: ours.ratio,
      unit: 'x',
      op: '>=',
      target: 0.5,
      from: { 'task-guard (memory)': ours.rate, [BASELINE]: result[BASELINE].rate, rounds: ROUNDS, note: 'median of per-round ratios' },
    })
  }
}

// Each contender's race five times, interleaved, after two races not counted: a
// race is the only part of the bench where calls queue, so without them the
// first races time task-guard's queue path cold (its first race ran ~5-10x its
// later ones) while the JS Map guard's one path is warm from the pair rounds.
// The median of each figure.
const WARM_RACES = Number(process.env.BENCH_ROUNDS) === 1 ? 0 : 2
const RACES = Number(process.env.BENCH_ROUNDS) === 1 ? 1 : 5
const races = Object.fromEntries(Object.keys(contenders).map((n) => [n, []]))
for (let i = 0; i < WARM_RACES; i++) for (const make of Object.values(contenders)) await sameKeyRace(make, 10_000)
for (let i = 0; i < RACES; i++) for (const [name, make] of Object.entries(contenders)) races[name].push(await sameKeyRace(make, 10_000))
console.log(`10,000 concurrent acquires of one key (median of ${RACES}, after ${WARM_RACES} not counted)`)
const race = {}
for (const name of Object.keys(contenders)) {
  const pick = (k) => median(races[name].map((r) => r[k]))
  race[name] = { ms: pick('ms'), p99: pick('p99'), max: pick('max'), winners: races[name][0].winners }
  const r = race[name]
  console.log(
    `  ${name.padEnd(22)} settled in ${r.ms.toFixed(1).padStart(6)} ms   loop delay p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms   winners ${r.winners}`,
  )
}
const [ours, map] = [race['task-guard (memory)'], race[BASELINE]]
goal({
  id: 'memory.race.settle',
  figure: '10k same-key acquires, settle time, task-guard / JS Map',
  value: ours.ms / map.ms,
  unit: 'x',
  op: '<=',
  target: 3,
  from: { 'task-guard (memory) ms': ours.ms, [`${BASELINE} ms`]: map.ms, runs: RACES },
})
goal({
  id: 'memory.race.loopDelay',
  figure: '10k race, event-loop delay p99, task-guard minus JS Map',
  value: ours.p99 - map.p99,
  unit: 'ms',
  op: '<=',
  target: 2,
  from: { 'task-guard (memory) p99 ms': ours.p99, [`${BASELINE} p99 ms`]: map.p99, runs: RACES },
})

await import('./scale.mjs')
await import('./sqlite.mjs')
await import('./redis.mjs')
report()
