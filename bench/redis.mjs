// The Redis store against node-redlock on ioredis, on one redis-server this
// benchmark starts, in one run; redis-benchmark's raw SET at the same
// concurrency is the ceiling. Skipped (with a line saying so) without redis-server.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import { createRequire } from 'node:module'
import { TaskGuard } from '../index.js'
import { goal, figure } from './goals.mjs'
import { jsThreadClient } from './redis-js-client.mjs'

const require = createRequire(import.meta.url)
const { startRedis, haveRedis } = require('../__test__/redis-helpers.cjs')
const Redis = require('ioredis')
const Redlock = require('redlock')

const SECONDS = Number(process.env.BENCH_REDIS_SECONDS ?? 2)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const IN_FLIGHT = 64


/** CPU time in µs of redis-server `pid` so far (user + system), where /proc has it. */
function serverCpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1e6) / TICKS
  } catch {
    return NaN
  }
}
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100

/** Pairs/s over SECONDS with `lanes` in flight, and the CPU µs a pair cost this process and the server. */
async function timed(lanes, pair, server) {
  const deadline = performance.now() + SECONDS * 1000
  let pairs = 0
  const cpu0 = process.cpuUsage()
  const server0 = serverCpu(server.pid)
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
  const rate = pairs / ((performance.now() - t0) / 1000)
  const cpu = process.cpuUsage(cpu0)
  return { rate, clientUs: (cpu.user + cpu.system) / pairs, serverUs: (serverCpu(server.pid) - server0) / pairs }
}

/** requests/s of one redis-benchmark run (`args` name the test and its concurrency). */
function redisBenchmark(server, args, n) {
  const out = spawnSync('redis-benchmark', ['-p', String(server.port), '-n', String(n), '-q', ...args], { encoding: 'utf8' }).stdout
  return Number(out.match(/: ([\d.]+) requests per second/)?.[1])
}

// The guard's own shape of work per call: one script reading the server's time,
// GETting a record and SETting a ~200-byte JSON value.
const SHAPE = "local t = redis.call('TIME') local v = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) return t"
const VALUE = JSON.stringify({ v: 1, phase: { Running: { run_id: '0189f7a2-3b4c-7d5e-8f60-123456789abc', fencing_token: 1795655436867000, started_at: 1795655436867, expires_at: 1795656036867, ttl_ms: 600000, owner: 'host:1234', attempt: 1 } } })

// The guard's check-and-set as it runs with many calls in flight: one script
// call for up to 16 keys, each read, compared and written.
const BATCH = 16
const BATCH_SHAPE = "local t = redis.call('TIME') local out = {} for i = 1, #KEYS do local v = redis.call('GET', KEYS[i]) redis.call('SET', KEYS[i], ARGV[i], 'PX', 1000) out[i] = {1} end return out"

/** What the server and this machine allow: raw SET with and without pipelining, and the script's shape pipelined. */
function ceilings(server) {
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout.trim()
  const sha = cli('SCRIPT', 'LOAD', SHAPE)
  const batchSha = cli('SCRIPT', 'LOAD', BATCH_SHAPE)
  const rows = [
    ['SET, 1 client', ['-t', 'set', '-c', '1'], 20_000],
    ['SET, 64 clients', ['-t', 'set', '-c', '64'], 200_000],
    ['SET, 64 clients, pipelined 16', ['-t', 'set', '-c', '64', '-P', '16'], 2_000_000],
    ['guard-shaped script, 1 client', ['-c', '1', 'EVALSHA', sha, '1', 'shape:__rand_int__', VALUE], 20_000],
    ['guard-shaped script, 1 client, pipelined 8', ['-c', '1', '-P', '8', 'EVALSHA', sha, '1', 'shape:__rand_int__', VALUE], 200_000],
    ['guard-shaped script, 64 clients', ['-c', '64', 'EVALSHA', sha, '1', 'shape:__rand_int__', VALUE], 200_000],
    [`guard-shaped script, ${BATCH} keys a call, 4 clients`, ['-c', '4', 'EVALSHA', batchSha, String(BATCH), ...Array(BATCH).fill('shape:__rand_int__'), ...Array(BATCH).fill(VALUE)], 20_000],
  ]
  console.log('redis-benchmark on the same server, requests/s')
  const out = {}
  // The smoke run (one round) only checks that each ceiling runs.
  const scale = ROUNDS === 1 ? 0.1 : 1
  for (const [name, args, n] of rows) {
    const calls = redisBenchmark(server, ['-r', '100000', ...args], Math.round(n * scale))
    // Keys a second: a batched call checks and writes BATCH of them.
    const rate = name.includes('keys a call') ? calls * BATCH : calls
    console.log(`  ${name.padEnd(44)} ${fmt(rate).padStart(10)}${rate === calls ? '' : ' keys/s'}`)
    figure(`redis.ceiling.${name}`, rate)
    out[name] = rate
  }
  console.log()
  return out
}

const fmt = (x) => Math.round(x).toLocaleString('en-US')

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
  const measured = {}
  let bareCeiling = NaN
  console.log(`\nRedis ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1]}, one server on loopback, ${SECONDS} s per contender, ${ROUNDS} interleaved rounds, medians`)
  for (const lanes of [1, IN_FLIGHT]) {
    const rates = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
    const cpu = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
    const ratios = []
    // With many in flight, each round also times a client that is no guard (see
    // redis-js-client.mjs): a client on the JS thread alone, in JS.
    const bare = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, pair] of Object.entries(contenders)) {
        const t = await timed(lanes, pair, server)
        rates[name].push(t.rate)
        cpu[name].push(t)
      }
      ratios.push(rates['task-guard (redis)'].at(-1) / rates['redlock on ioredis'].at(-1))
      if (lanes > 1) bare.push(await jsThreadClient({ port: server.port, batch: BATCH, lanes, seconds: SECONDS, serverCpu: () => serverCpu(server.pid) }))
    }
    const setRate = redisBenchmark(server, ['-t', 'set', '-c', String(lanes)], lanes === 1 ? 20_000 : 200_000)
    const ours = median(rates['task-guard (redis)'])
    const what = lanes === 1 ? 'sequential' : `${lanes} in flight`
    console.log(`acquire+release pairs/s, ${what}`)
    const cpuOf = (name) => ({ client: median(cpu[name].map((c) => c.clientUs)), server: median(cpu[name].map((c) => c.serverUs)) })
    for (const name of Object.keys(contenders)) {
      const c = cpuOf(name)
      const spent = Number.isFinite(c.server) ? `CPU a pair ${(c.client + c.server).toFixed(1)} µs (this process ${c.client.toFixed(1)}, redis-server ${c.server.toFixed(1)})` : `CPU a pair in this process ${c.client.toFixed(1)} µs`
      console.log(`  ${name.padEnd(22)} ${fmt(median(rates[name])).padStart(10)}   ${spent}`)
      figure(`redis.${lanes === 1 ? 'sequential' : 'inFlight'}.cpuPerPair.${name}`, c)
    }
    if (bare.length > 0) {
      const c = { client: median(bare.map((b) => b.clientUs)), server: median(bare.map((b) => b.serverUs)) }
      const rate = median(bare.map((b) => b.rate))
      console.log(`  JS-thread client, no engine ${fmt(rate).padStart(7)}   CPU a pair ${(c.client + c.server).toFixed(1)} µs (this process ${c.client.toFixed(1)}, redis-server ${c.server.toFixed(1)})`)
      console.log(`    (no guard: the server's work of a pair, its records and RESP encoded in JS, from the JS thread alone)`)
      figure('redis.inFlight.jsThreadClient', { pairsPerSecond: rate, cpu: c, toRedlock: rate / median(rates['redlock on ioredis']) })
      bareCeiling = rate
    }
    console.log(`  redis-benchmark SET      ${fmt(setRate).padStart(10)} ops/s (raw SET, as many clients)`)
    console.log(`  task-guard / redlock: ${median(ratios).toFixed(2)}x; task-guard calls (2 per pair) / raw SET: ${((2 * ours) / setRate).toFixed(2)}x\n`)
    measured[lanes === 1 ? 'sequential' : 'inFlight'] = {
      what,
      ratio: median(ratios),
      ours,
      redlock: median(rates['redlock on ioredis']),
      cpu: cpuOf('task-guard (redis)'),
    }
    figure(`redis.${lanes === 1 ? 'sequential' : 'inFlight'}.setCeiling`, setRate)
  }
  const ceiling = ceilings(server)
  // With many in flight, the server is no longer the bound: batched, it checks and
  // writes several times the keys a second that the pairs need. What bounds this
  // design here is CPU: the client (its JS thread) and the server
  // share this machine's cores, so at the CPU a pair costs them, all cores busy
  // allow at most cores / (CPU a pair) pairs a second. Sequentially there is no such
  // bound: one call at a time leaves cores idle by nature.
  const cores = os.availableParallelism()
  const { client: onClient, server: onServer } = measured.inFlight.cpu
  const reach = Number.isFinite(onServer)
    ? {
        inFlight: [
          (cores * 1e6) / (onClient + onServer),
          `this design at its CPU a pair (${(onClient + onServer).toFixed(1)} µs: this process ${onClient.toFixed(1)}, redis-server ${onServer.toFixed(1)}) with all ${cores} cores busy; the server alone, batching, checks and writes ${fmt(ceiling[`guard-shaped script, ${BATCH} keys a call, 4 clients`])} keys/s; a client on the JS thread alone with no engine, ${(bareCeiling / measured.inFlight.redlock).toFixed(2)}x`,
        ],
      }
    : {}
  for (const [kind, m] of Object.entries(measured)) {
    const [pairs, why] = reach[kind] ?? []
    goal({
      id: `redis.${kind}.ratio`,
      figure: `Redis pairs/s, ${m.what}, task-guard / redlock`,
      value: m.ratio,
      unit: 'x',
      op: '>=',
      target: 1.5,
      from: { 'task-guard (redis)': m.ours, 'redlock on ioredis': m.redlock, rounds: ROUNDS, note: 'median of per-round ratios' },
      reachable: pairs === undefined ? undefined : { value: pairs / m.redlock, why, pairsPerSecond: pairs },
    })
  }
  await guard.close()
  client.disconnect()
  await server.stop()
}

if (!haveRedis) {
  console.log('\nRedis: skipped, redis-server is not installed')
} else {
  await main()
}
