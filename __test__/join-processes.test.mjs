// Join and replay across OS processes, on the stores processes share (SQLite, Redis):
// duplicates in other processes wait for the running run and get its value; a process
// started after a success gets it replayed; waiting is paced by pollMs, not a busy loop.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import sqliteHelpers from './sqlite-helpers.cjs'
import redis from './redis-helpers.cjs'

const WORKER = new URL('./fixtures/join-worker.cjs', import.meta.url).pathname
const redisOpts = redis.redisTest()
let server

before(async () => {
  if (!redisOpts.skip) server = await redis.startRedis()
})
after(async () => {
  await server?.stop()
})

/** A worker process whose JSON lines arrive as `lines`; `next(pred)` resolves with the first line (from now on) matching. */
function worker(args) {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  const seen = []
  const wanted = []
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    const x = JSON.parse(l)
    seen.push(x)
    for (const w of [...wanted]) if (w.pred(x)) (wanted.splice(wanted.indexOf(w), 1), w.resolve(x))
  })
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    exited,
    seen,
    next: (pred) => new Promise((resolve) => {
      const hit = seen.find(pred)
      if (hit) resolve(hit)
      else wanted.push({ pred, resolve })
    }),
  }
}

const stores = [
  ['sqlite', {}, () => `sqlite:${path.join(sqliteHelpers.tempDir(), 'guards.db')}`],
  ['redis', redisOpts, () => server.url],
]

for (const [label, opts, storeOf] of stores) {
  test(`${label}: duplicates in 3 other processes join the running run and get its value; the task runs once`, opts, async () => {
    const store = storeOf()
    const pollMs = 100
    const holder = worker(['hold', store, 'report', String(pollMs), '300'])
    const { started } = await holder.next((x) => x.started)
    const joiners = [0, 1, 2].map(() => worker(['join', store, 'report', String(pollMs)]))
    for (const j of joiners) assert.equal((await j.next((x) => x.waiting)).waiting, started, 'each met the running run')
    holder.child.stdin.end('go\n')
    const held = await holder.next((x) => x.held)
    assert.equal(held.held, 'completed')
    for (const j of joiners) {
      const { answer, at } = await j.next((x) => x.answer)
      assert.deepEqual(answer, { status: 'joined', key: 'report', runId: started, outcome: 'succeeded', endedAt: answer.endedAt, value: { from: holder.child.pid } })
      // Answered by a look at most pollMs after the release (plus process scheduling).
      assert.ok(at - held.endedAt < pollMs + 1_500, `joined ${at - held.endedAt} ms after the release`)
      assert.ok(!j.seen.some((x) => x.ran), 'a joiner did not run the task')
      assert.equal(await j.exited, 0)
    }
    assert.equal(await holder.exited, 0)
  })

  test(`${label}: a process started after a success gets it replayed, its task not called`, opts, async () => {
    const store = storeOf()
    const first = worker(['replay', store, 'weekly', '100'])
    const { answer: ran } = await first.next((x) => x.answer)
    assert.equal(ran.status, 'completed')
    assert.equal(await first.exited, 0)
    const second = worker(['replay', store, 'weekly', '100'])
    const { answer } = await second.next((x) => x.answer)
    assert.deepEqual(answer, { status: 'already_completed', key: 'weekly', runId: ran.runId, endedAt: answer.endedAt, value: 'ran here' })
    assert.ok(!second.seen.some((x) => x.ran))
    assert.equal(await second.exited, 0)
  })
}

test('redis: a joiner waiting 1.5 s looks about every pollMs, not in a busy loop', redisOpts, async () => {
  const store = server.url.replace(/\/0$/, '/7')
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).stdout
  const calls = () => {
    // Every guard command is one script call: count them all.
    const stats = cli('INFO', 'commandstats')
    return [...stats.matchAll(/cmdstat_(?:evalsha|eval|fcall|get|mget|watch):calls=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0)
  }
  const pollMs = 250
  const holder = worker(['hold', store, 'slow', String(pollMs), '1500'])
  await holder.next((x) => x.started)
  const joiner = worker(['join', store, 'slow', String(pollMs)])
  await joiner.next((x) => x.waiting)
  cli('CONFIG', 'RESETSTAT')
  const before = calls()
  holder.child.stdin.end('go\n')
  await joiner.next((x) => x.answer)
  const looks = calls() - before
  // 1.5 s at one look per 250 ms is ~6 looks (plus the holder's heartbeat and release,
  // and the joiner's final look); a busy loop would make thousands.
  assert.ok(looks >= 3 && looks <= 20, `${looks} store commands while the joiner waited 1.5 s`)
  assert.equal(await joiner.exited, 0)
  assert.equal(await holder.exited, 0)
})
