'use strict'
// The Redis store's connection: Node's socket, on the JS thread. The native
// wire (src/store/redis/wire.rs) computes every call and holds the bytes to
// write and the replies awaited; this connects, moves bytes, times out and
// reconnects. Calls made in one turn of the event loop go out in one write.
// Timers and turns are node:timers' own, as they were at load: a test
// runner's fake timers (Jest's replace the globals of its sandbox) must not
// stall a store's I/O or its time-outs (see real-immediate.js).

const net = require('node:net')
const tls = require('node:tls')
const { performance } = require('node:perf_hooks')
const timers = require('node:timers')
const native = require('./native')
const { immediate } = require('./real-immediate')
const { codedError, codes, fromNative } = require('./errors')

const { setTimeout: setTimer, clearTimeout: clearTimer } = timers
const nextTurn = immediate ?? ((f) => Promise.resolve().then(f))

class RedisSocket {
  #handle
  #tls
  /** Called with each batch of answers (a durable store's completions). */
  #deliver
  #socket = null
  /** The handshake is answered on the current socket. */
  #ready = false
  #opening = null
  #flushQueued = false
  #timer = null
  /** When the socket last read anything, or last went from idle to busy. */
  #heardAt = 0
  #commandTimeoutMs = 5000

  /** Called with an error for every call in flight if the wire cannot answer them itself. */
  #failAll

  constructor(handle, nativeTls, deliver, failAll) {
    this.#handle = handle
    this.#tls = nativeTls
    this.#deliver = deliver
    this.#failAll = failAll
  }

  /** Connects, if not connected; resolves once the server has answered the handshake. */
  open() {
    if (this.#ready) return Promise.resolve()
    if (this.#opening === null) this.#connect()
    return this.#opening.promise
  }

  /**
   * A call was taken: it goes out at the end of this turn, connecting first if
   * need be; at once if it is the only call in flight (`alone`), as nothing
   * could join it.
   */
  kick(alone) {
    if (this.#socket === null) {
      this.#connect()
      this.#opening.promise.catch(() => {})
    }
    if (alone && this.#ready && !this.#flushQueued) {
      this.#io(undefined)
      return
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true
      nextTurn(() => {
        this.#flushQueued = false
        if (this.#socket !== null) this.#io(undefined)
      })
    }
  }

  /** Ends the connection; calls not answered fail with `why`. */
  destroy(why = 'the guard is closed') {
    this.#drop(why)
  }

  #connect() {
    let address
    try {
      address = native.guardWireConnect(this.#handle)
    } catch (err) {
      const e = fromNative(err)
      this.#opening = { promise: Promise.reject(e), resolve() {}, reject() {} }
      this.#reset(e.message, false)
      return
    }
    this.#commandTimeoutMs = address.commandTimeoutMs
    let resolve, reject
    const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)))
    this.#opening = { promise, resolve, reject }
    const where = { host: address.host, port: address.port }
    const socket = address.tls
      ? tls.connect({
          ...where,
          servername: net.isIP(address.host) ? undefined : address.host,
          ca: this.#tls?.ca ?? undefined,
          cert: this.#tls?.cert ?? undefined,
          key: this.#tls?.key ?? undefined,
          checkServerIdentity: address.insecure ? () => undefined : tls.checkServerIdentity,
        })
      : net.connect(where)
    socket.setNoDelay(true)
    // Held while connecting (an open awaits it); after, calls in flight hold the process (the backend's hold).
    this.#socket = socket
    this.#ready = false
    // Written now, sent once connected: the handshake comes before any call.
    socket.write(address.handshake)
    socket.on('data', (chunk) => this.#socket === socket && this.#io(chunk))
    socket.on('error', (err) => this.#socket === socket && this.#drop(err.message))
    socket.on('close', () => this.#socket === socket && this.#drop('the connection closed'))
    this.#arm(address.connectTimeoutMs, () => !this.#ready && `no connection within ${address.connectTimeoutMs} ms`)
  }

  #io(input) {
    let r
    try {
      r = native.guardWireIo(this.#handle, input)
    } catch (err) {
      // A bug in the wire: what it holds of this connection cannot be trusted; every call in flight fails with it.
      this.#drop(String(err?.message ?? err), true)
      return
    }
    if (input !== undefined) this.#heardAt = performance.now()
    if (r.batch !== undefined && r.batch !== null) this.#deliver(r.batch)
    if (r.broken !== undefined && r.broken !== null) return this.#drop(r.broken)
    if (r.opened) {
      this.#ready = true
      this.#socket.unref()
      this.#opening.resolve()
      // The connect time-out is over; calls sent while connecting are watched from now.
      this.#stopTimer()
    }
    if (r.output !== undefined && r.output !== null) this.#socket.write(r.output, 'latin1')
    // The timer runs only while calls await replies: a call sent after an idle
    // spell is given the whole time-out, not what an old timer had left.
    if (!r.busy) {
      if (this.#ready) this.#stopTimer()
    } else if (this.#timer === null && this.#ready) {
      this.#heardAt = performance.now()
      this.#watch()
    }
  }

  #stopTimer() {
    if (this.#timer !== null) clearTimer(this.#timer)
    this.#timer = null
  }

  /** While calls await replies, a connection that reads nothing for the command time-out is dropped. */
  #watch() {
    this.#arm(this.#commandTimeoutMs, () => {
      const quiet = performance.now() - this.#heardAt
      if (quiet < this.#commandTimeoutMs) return this.#commandTimeoutMs - quiet
      return `no reply within ${this.#commandTimeoutMs} ms`
    })
  }

  /** Runs `check` after `ms`: a string drops the connection with it; a number looks again after that long. */
  #arm(ms, check) {
    this.#stopTimer()
    const socket = this.#socket
    this.#timer = setTimer(() => {
      this.#timer = null
      if (this.#socket !== socket) return
      const verdict = check()
      if (typeof verdict === 'string') this.#drop(verdict)
      else if (typeof verdict === 'number') this.#arm(Math.max(1, Math.ceil(verdict)), check)
    }, ms)
    this.#timer.unref()
  }

  #drop(why, panicked = false) {
    const socket = this.#socket
    if (socket === null) return
    this.#socket = null
    this.#ready = false
    this.#stopTimer()
    socket.destroy()
    const opening = this.#opening
    this.#opening = null
    this.#reset(why, panicked)
    opening?.reject(codedError(codes.STORE_UNAVAILABLE, `Redis: ${why}`))
  }

  /** Every call the wire holds fails with `why` (`panicked`: the wire's own panic). */
  #reset(why, panicked) {
    let batch
    try {
      batch = native.guardWireReset(this.#handle, why, panicked)
    } catch (err) {
      this.#failAll(fromNative(err))
      batch = null
    }
    if (batch !== undefined && batch !== null) this.#deliver(batch)
  }
}

module.exports = { RedisSocket }
