// The Redis store against node-redlock on ioredis, on one redis-server this
// benchmark starts, in one run; redis-benchmark's raw SET at the same
// concurrency is the ceiling. Skipped (with a line saying so) without redis-server.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { TaskGuard } from '../index.js'

const require = createRequire(import.meta.url)
const { startRedis, haveRedis } = require('../__test__/redis-helpers.cjs')
const Redis = require('ioredis')
const Redlock = require('redlock')

const SECONDS = Number(process.env.BENCH_REDIS_SECONDS ?? 2)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const IN_FLIGHT = 64

if (!haveRedis) {
  console.log('\nRedis: skipped, redis-server is not installed')
} else {
  await main()
}

async function timed(lanes, pair) {
  const deadline = performance.now() + SECONDS * 1000
  let pairs = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: lanes }, async (_, w) => {
      const key = `session-${w}::task`
      while (performance.now() < deadline) {
        await pair(key)
        pairs++
      }
    }),
  )
  return pairs / ((performance.now() - t0) / 1000)
}

async function main() {
  const server = await startRedis()
  const guard = await TaskGuard.open({ store: server.url, namespace: 'bench' })
  const client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: false })
  const redlock = new Redlock([client], { retryCount: 0 })
  const contenders = {
    'task-guard (redis)': async (key) => {
      const r = await guard.acquire(key, { ttlMs: 60_000 })
      if (r.status !== 'acquired') throw new Error(r.status)
      await guard.release(key, r.runId)
    },
    'redlock on ioredis': async (key) => {
      const lock = await redlock.lock(`redlock:${key}`, 60_000)
      await lock.unlock()
    },
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const fmt = (x) => Math.round(x).toLocaleString('en-US')
  console.log(`\nRedis ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1]}, one server on loopback, ${SECONDS} s per contender, ${ROUNDS} interleaved rounds, medians`)
  for (const lanes of [1, IN_FLIGHT]) {
    const rates = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
    const ratios = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, pair] of Object.entries(contenders)) rates[name].push(await timed(lanes, pair))
      ratios.push(rates['task-guard (redis)'].at(-1) / rates['redlock on ioredis'].at(-1))
    }
    const set = spawnSync('redis-benchmark', ['-p', String(server.port), '-t', 'set', '-c', String(lanes), '-n', lanes === 1 ? '20000' : '200000', '-q'], { encoding: 'utf8' })
    const setRate = Number(set.stdout.match(/SET: ([\d.]+) requests per second/)?.[1])
    const ours = median(rates['task-guard (redis)'])
    console.log(`acquire+release pairs/s, ${lanes === 1 ? 'sequential' : `${lanes} in flight`}`)
    for (const name of Object.keys(contenders)) console.log(`  ${name.padEnd(22)} ${fmt(median(rates[name])).padStart(10)}`)
    console.log(`  redis-benchmark SET      ${fmt(setRate).padStart(10)} ops/s (ceiling)`)
    console.log(`  task-guard / redlock: ${median(ratios).toFixed(2)}x; task-guard calls (2 per pair) / raw SET: ${((2 * ours) / setRate).toFixed(2)}x\n`)
  }
  await guard.close()
  client.disconnect()
  await server.stop()
}
