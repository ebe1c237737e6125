// The ceiling of a Redis client written in JS that runs on the JS thread alone:
// one socket, RESP written and parsed here, no store thread and no hand-offs
// between threads. It does the guard's server work and a share of its client
// work: each call JSON-encodes a record of the store's size, and the calls in
// flight together go out as one script call of up to `batch` keys, pipelined,
// as the Redis store batches them: the script is the store's check-and-set
// itself (the stamp expected, the claimed time, the new text and its expiry a
// key; read, compare, write), so the server does the same work a key. It has
// no engine, no answers to build and no checks: what a guard of this shape
// written in JS could reach at most on this host, not a contender. (The store
// builds its records and RESP natively, and can pass it.)
import fs from 'node:fs'
import net from 'node:net'
import { createHash } from 'node:crypto'

/** A minimal RESP reader for the replies this client gets: arrays, integers, bulk and simple strings, errors. */
class Replies {
  #buf = Buffer.alloc(0)
  #at = 0

  push(chunk) {
    this.#buf = this.#at < this.#buf.length ? Buffer.concat([this.#buf.subarray(this.#at), chunk]) : chunk
    this.#at = 0
  }

  /** The next whole reply, or undefined until it has arrived. */
  next() {
    const start = this.#at
    const value = this.#value()
    if (value === undefined) this.#at = start
    return value
  }

  #line() {
    const end = this.#buf.indexOf(13, this.#at)
    if (end < 0 || end + 1 >= this.#buf.length) return undefined
    const line = this.#buf.toString('latin1', this.#at + 1, end)
    const type = this.#buf[this.#at]
    this.#at = end + 2
    return { type, line }
  }

  #value() {
    const head = this.#line()
    if (head === undefined) return undefined
    switch (head.type) {
      case 42: {
        // '*': an array
        const n = Number(head.line)
        const out = []
        for (let i = 0; i < n; i++) {
          const v = this.#value()
          if (v === undefined) return undefined
          out.push(v)
        }
        return out
      }
      case 36: {
        // '$': a bulk string
        const n = Number(head.line)
        if (n < 0) return null
        if (this.#at + n + 2 > this.#buf.length) return undefined
        const s = this.#buf.toString('utf8', this.#at, this.#at + n)
        this.#at += n + 2
        return s
      }
      case 58:
        return Number(head.line)
      case 45:
        return new Error(head.line)
      default:
        return head.line
    }
  }
}

// The store's own check-and-set script, read from its source (the bench runs from a
// checkout): the server runs exactly what it runs for the store, and its SHA1 is
// the one the store loads.
const CHECK_AND_SET = (() => {
  const source = fs.readFileSync(new URL('../src/store/redis/scripts.rs', import.meta.url), 'utf8')
  const text = source.match(/const CHECK_AND_SET_LUA: &str =\s*"([^"]*)"/)?.[1]
  if (text === undefined) throw new Error('the check-and-set script was not found in src/store/redis/scripts.rs')
  return text
})()

// Bytes of a value's stamp that a check compares.
const STAMP = 23

const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`

/**
 * Pairs/s of `lanes` loops of two calls each (a grant's record, then a released
 * one) for `seconds`, and the CPU µs a pair cost this process and the server.
 */
export async function jsThreadClient({ port, batch, lanes, seconds, serverCpu }) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const replies = new Replies()
  // Each sent script call's callers, in the order the server answers.
  const sent = []
  let pending = []
  let flushing = false
  // Checks that failed: counted (see the end).
  let refused = 0
  socket.on('data', (chunk) => {
    replies.push(chunk)
    for (let r = replies.next(); r !== undefined; r = replies.next()) {
      const callers = sent.shift()
      if (!Array.isArray(callers)) {
        // SCRIPT LOAD's answer
        r instanceof Error ? callers.reject(r) : callers.resolve(r)
        continue
      }
      if (r instanceof Error) {
        for (const c of callers) c.reject(r)
        continue
      }
      for (let i = 0; i < callers.length; i++) {
        if (r[2 + i] !== 1) refused++
        callers[i].resolve()
      }
    }
  })
  const sha = await new Promise((resolve, reject) => {
    sent.push({ resolve, reject })
    socket.write(`*3\r\n${bulk('SCRIPT')}${bulk('LOAD')}${bulk(CHECK_AND_SET)}`)
  })
  if (sha !== createHash('sha1').update(CHECK_AND_SET).digest('hex')) throw new Error(`SCRIPT LOAD answered ${sha}`)
  const flush = () => {
    flushing = false
    // The time the answers were computed at, as the store claims it (the server checks it).
    const now = String(Date.now())
    let out = ''
    for (let i = 0; i < pending.length; i += batch) {
      const calls = pending.slice(i, i + batch)
      out += `*${4 + calls.length * 7}\r\n${bulk('EVALSHA')}${bulk(sha)}${bulk(String(calls.length))}`
      for (const c of calls) out += bulk(c.key)
      out += bulk('250')
      for (const c of calls) {
        // As the store checks a value it wrote: by its stamp (see src/store/redis/stamp.rs).
        out += c.expected === null ? bulk('') + bulk('0') : bulk(c.expected.slice(0, STAMP)) + bulk('2')
        out += bulk(now) + bulk(c.value) + bulk('1') + bulk(c.expireMs)
      }
      sent.push(calls)
    }
    pending = []
    socket.write(out)
  }
  const call = (key, expected, value, expireMs) =>
    new Promise((resolve, reject) => {
      pending.push({ key, expected, value, expireMs, resolve, reject })
      if (!flushing) {
        flushing = true
        queueMicrotask(flush)
      }
    })
  // Records of the store's shape and size (~740 bytes running, ~540 idle: a
  // stamp, the run, the last fence and the last four ended runs): the server's
  // cost a key grows with the record's length.
  const runId = (i) => `01a21777-9259-7dcc-9191-${String(i).padStart(12, '0')}`
  const history = (i) => Array.from({ length: 4 }, (_, k) => ({ run_id: runId(i - k), ended_at: 1795690041945 + i - k, how: { Released: 'Succeeded' } }))
  const at = 1795690050954
  // Unique a write, as the store's random stamps are (its keys are this client's own).
  let writes = 0
  const stamped = (json) => `{"w":"${(++writes).toString(16).padStart(16, '0')}",${json.slice(1)}`
  const running = (i) =>
    stamped(JSON.stringify({
      v: 1,
      phase: { Running: { run_id: runId(i), fencing_token: (at + i) * 1000, started_at: at + i, expires_at: at + i + 600000, ttl_ms: 600000, owner: 'vm:17617', attempt: 1, meta: null } },
      last_fence: (at + i) * 1000,
      history: history(i - 1),
      updated_at: at + i,
    }))
  const idle = (i) => stamped(JSON.stringify({ v: 1, phase: 'Idle', last_fence: (at + i) * 1000, history: history(i), updated_at: at + i }))
  let pairs = 0
  const run = Math.random().toString(36).slice(2)
  const deadline = performance.now() + seconds * 1000
  const cpu0 = process.cpuUsage()
  const server0 = serverCpu()
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: lanes }, async (_, w) => {
      const key = `js-client:${run}:session-${w}::task`
      let last = null
      while (performance.now() < deadline) {
        const held = running(pairs)
        await call(key, last, held, '0')
        last = idle(pairs)
        await call(key, held, last, '86400000')
        pairs++
      }
    }),
  )
  const rate = pairs / ((performance.now() - t0) / 1000)
  const cpu = process.cpuUsage(cpu0)
  socket.destroy()
  // A refusal is what a stall past the script's window would give the store too
  // (which computes again); more than a few means the workload is not the guard's.
  if (refused > pairs / 100) throw new Error(`the JS-thread client's checks failed ${refused} times in ${pairs} pairs: not the guard's workload`)
  return { rate, clientUs: (cpu.user + cpu.system) / pairs, serverUs: (serverCpu() - server0) / pairs }
}
