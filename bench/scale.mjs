// The memory store at scale: RSS per running guard, the acquire rate while it
// fills, and a full paged inspect (every page of 1000) with its longest
// event-loop block. BENCH_SCALE_GUARDS sets the count (default 1,000,000; the
// smoke run, BENCH_ROUNDS=1, uses 20,000).
import v8 from 'node:v8'
import vm from 'node:vm'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { TaskGuard } from '../index.js'

const GUARDS = Number(process.env.BENCH_SCALE_GUARDS ?? (process.env.BENCH_ROUNDS === '1' ? 20_000 : 1_000_000))

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')
const settledRss = () => {
  gc()
  gc()
  return process.memoryUsage().rss
}

const fmt = (x) => Math.round(x).toLocaleString('en-US')
const rss0 = settledRss()
const guard = new TaskGuard()
const t0 = performance.now()
for (let i = 0; i < GUARDS; i++) {
  const r = await guard.acquire(`agent:main:telegram:direct:123456::report-${i}`, { owner: 'gateway-1' })
  if (r.status !== 'acquired') throw new Error(`unexpected ${r.status}`)
}
const rate = GUARDS / ((performance.now() - t0) / 1000)
const perGuard = (settledRss() - rss0) / GUARDS

const h = monitorEventLoopDelay({ resolution: 1 })
h.enable()
await new Promise((r) => setTimeout(r, 20))
const t1 = performance.now()
let pages = 0
let listed = 0
for (let after; ; pages++) {
  const page = await guard.inspect({ limit: 1000, after })
  listed += page.guards.length
  if (page.next === null) break
  after = page.next
}
const inspectMs = performance.now() - t1
await new Promise((r) => setTimeout(r, 20))
h.disable()
if (listed !== GUARDS) throw new Error(`listed ${listed} of ${GUARDS}`)
await guard.close()

console.log(`\nmemory store at ${fmt(GUARDS)} running guards`)
console.log(`  RSS per guard          ${fmt(perGuard).padStart(10)} B   (goal ≤ 300 B)`)
console.log(`  acquire rate           ${fmt(rate).padStart(10)} /s`)
console.log(`  paged inspect          ${fmt(inspectMs).padStart(10)} ms  ${fmt(pages + 1)} pages of ≤ 1000, longest event-loop block ${(h.max / 1e6).toFixed(1)} ms`)
