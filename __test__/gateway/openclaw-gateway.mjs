// A real OpenClaw gateway for the suite, set up the way an operator does it: openclaw
// installed with `npm install -g` (into __test__/.runtime/, cached), task-guard
// installed with `openclaw plugins install` from a loopback registry holding the
// release tarballs, the model a local mock. Each gateway lives in a temp dir of its
// own (home, state, workspace) and runs as its own process group, which stop() ends.

import { execFile, spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const repoRoot = path.resolve(here, '../..')
export const OPENCLAW_VERSION = JSON.parse(readFileSync(path.join(repoRoot, '__test__/openclaw/host/package.json'), 'utf8')).dependencies.openclaw
const PLUGIN_ID = 'task-guard'

/** Node >= 24.16 (or 26.1+): what OpenClaw states it needs. */
export function nodeFitsOpenClaw(version = process.version) {
  const [maj, min] = version.replace(/^v/, '').split('.').map(Number)
  return (maj === 24 && min >= 16) || (maj === 26 && min >= 1) || maj > 26
}

const withNode = (node, env = process.env) => ({ ...env, PATH: `${path.dirname(node)}${path.delimiter}${env.PATH ?? ''}` })

/**
 * `npm install -g openclaw@<pinned> --prefix __test__/.runtime/openclaw-<version>` with
 * `node` first on PATH (npm's engine checks and OpenClaw's postinstall see it); skipped
 * when that version is already there. Returns the path of its entry script.
 */
export function installOpenClaw(node, log = (m) => process.stderr.write(`${m}\n`)) {
  const prefix = path.join(repoRoot, '__test__', '.runtime', `openclaw-${OPENCLAW_VERSION}`)
  const pkgDir = process.platform === 'win32' ? path.join(prefix, 'node_modules', 'openclaw') : path.join(prefix, 'lib', 'node_modules', 'openclaw')
  const manifest = path.join(pkgDir, 'package.json')
  if (!existsSync(manifest) || JSON.parse(readFileSync(manifest, 'utf8')).version !== OPENCLAW_VERSION) {
    log(`installing openclaw@${OPENCLAW_VERSION} (npm install -g --prefix ${path.relative(repoRoot, prefix)})`)
    mkdirSync(prefix, { recursive: true })
    const r = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', `openclaw@${OPENCLAW_VERSION}`], {
      env: withNode(node),
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 600_000,
    })
    if (r.status !== 0) throw new Error(`npm install -g openclaw@${OPENCLAW_VERSION} failed (${r.status ?? r.signal})`)
  }
  return path.join(pkgDir, 'openclaw.mjs')
}

// Gateways still running when this process exits (a test timed out, ^C): killed with it.
const live = new Set()
process.once('exit', () => {
  for (const proc of live) {
    try {
      process.kill(-proc.pid, 'SIGKILL')
    } catch {}
  }
})
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => process.exit(130))

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function exec(file, args, { env, cwd, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd, timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code ?? 1) : 0, signal: error?.signal ?? null, stdout, stderr }),
    )
  })
}

/** The text of a chat message object ({ content: string | [{ type: 'text', text }] }). */
export function messageText(message) {
  if (!message) return ''
  if (typeof message === 'string') return message
  const c = message.content ?? message.text
  if (typeof c === 'string') return c
  if (Array.isArray(c)) return c.map((p) => (typeof p === 'string' ? p : (p?.text ?? ''))).join('')
  return ''
}

/** A WebSocket operator client of the gateway protocol (requests, responses, events). */
export class GatewayClient extends EventEmitter {
  #ws
  #seq = 0
  #pending = new Map()

  /** `scopes`: the operator scopes asked for (a shared-token client gets what it asks). */
  static async connect(url, token, { timeoutMs = 15_000, scopes = ['operator.read', 'operator.write', 'operator.admin'] } = {}) {
    const client = new GatewayClient()
    await client.#open(url, token, timeoutMs, scopes)
    return client
  }

  #open(url, token, timeoutMs, scopes) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no hello from ${url} within ${timeoutMs} ms`)), timeoutMs)
      const ws = new WebSocket(url)
      this.#ws = ws
      ws.onerror = (e) => {
        clearTimeout(timer)
        reject(new Error(`websocket ${url}: ${e.message ?? 'error'}`))
      }
      ws.onclose = () => {
        for (const p of this.#pending.values()) p.reject(new Error('gateway connection closed'))
        this.#pending.clear()
        this.emit('close')
      }
      ws.onmessage = async (ev) => {
        const frame = JSON.parse(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('utf8'))
        if (frame.type === 'res') {
          const p = this.#pending.get(frame.id)
          if (!p) return
          this.#pending.delete(frame.id)
          if (frame.ok) p.resolve(frame.payload)
          else p.reject(Object.assign(new Error(`${p.method}: ${JSON.stringify(frame.error)}`), { gatewayError: frame.error }))
          return
        }
        if (frame.type !== 'event') return
        if (frame.event === 'connect.challenge') {
          try {
            const hello = await this.request('connect', {
              minProtocol: 4,
              maxProtocol: 4,
              client: { id: 'gateway-client', version: 'task-guard-e2e', platform: process.platform, mode: 'backend' },
              role: 'operator',
              scopes,
              caps: [],
              auth: { token },
            })
            clearTimeout(timer)
            resolve(hello)
          } catch (err) {
            clearTimeout(timer)
            reject(err)
          }
          return
        }
        this.emit('event', frame.event, frame.payload ?? {})
        this.emit(frame.event, frame.payload ?? {})
      }
    })
  }

  request(method, params = {}, { timeoutMs = 30_000 } = {}) {
    const id = `r${++this.#seq}`
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${method}: no response within ${timeoutMs} ms`))
      }, timeoutMs)
      timer.unref()
      this.#pending.set(id, {
        method,
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      this.#ws.send(JSON.stringify({ type: 'req', id, method, params }))
    })
  }

  close() {
    try {
      this.#ws?.close()
    } catch {}
  }
}

/**
 * One gateway: `Gateway.create()` writes its config and installs the plugin (the
 * gateway stopped), `start()` runs it; `send`, `history`, `wait`, `inspect` read it.
 */
export class Gateway {
  dir
  stateDir
  port = null
  proc = null
  client = null
  starts = 0
  /** Every chat / chat.side_result / agent event seen, in order. */
  events = []

  constructor({ node, openclaw, dir, token }) {
    this.node = node
    this.openclaw = openclaw
    this.dir = dir
    this.token = token
    this.stateDir = path.join(dir, 'state')
    this.configPath = path.join(this.stateDir, 'openclaw.json')
    this.env = withNode(node, {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      TZ: 'UTC',
      HOME: path.join(dir, 'home'),
      OPENCLAW_HOME: path.join(dir, 'home'),
      OPENCLAW_STATE_DIR: this.stateDir,
      OPENCLAW_CONFIG_PATH: this.configPath,
      OPENCLAW_GATEWAY_TOKEN: token,
      OPENCLAW_NO_AUTO_UPDATE: '1',
      OPENCLAW_DISABLE_BONJOUR: '1',
      OPENCLAW_OFFLINE: '1',
      DO_NOT_TRACK: '1',
    })
    this.bus = new EventEmitter()
    this.bus.setMaxListeners(100)
  }

  /**
   * A gateway in a new temp dir, task-guard installed from `registryUrl` with
   * `pluginConfig`, the model at `modelBaseUrl`. Not started.
   */
  static async create({ node, openclaw, registryUrl, modelBaseUrl, pluginConfig = {}, configure = (cfg) => cfg }) {
    const dir = mkdtempSync(path.join(tmpdir(), 'tg-gateway-'))
    const gw = new Gateway({ node, openclaw, dir, token: randomUUID() })
    for (const d of ['home', 'state', 'workspace']) mkdirSync(path.join(dir, d), { recursive: true })
    // npm, run by `openclaw plugins install`, reads the user's .npmrc: the loopback registry
    // and a cache of this gateway's own (the tarballs change between runs, the version does not).
    writeFileSync(
      path.join(dir, 'home', '.npmrc'),
      [`registry=${registryUrl}`, `cache=${path.join(dir, 'npm-cache')}`, 'update-notifier=false', 'fund=false', 'audit=false', ''].join('\n'),
    )
    gw.writeConfig(gw.baseConfig(modelBaseUrl))
    await gw.cli(['config', 'validate'])
    const t0 = Date.now()
    await gw.cli(['plugins', 'install', PLUGIN_ID, '--force', '--accept-capabilities'], { timeoutMs: 180_000 })
    gw.timings = { pluginInstallMs: Date.now() - t0 }
    const cfg = gw.readConfig()
    const entry = cfg.plugins?.entries?.[PLUGIN_ID]
    if (!entry) throw new Error(`plugins install left no plugins.entries.${PLUGIN_ID} in the config`)
    entry.enabled = true
    entry.config = pluginConfig
    entry.hooks = { ...entry.hooks, allowConversationAccess: true }
    gw.writeConfig(configure(cfg))
    await gw.cli(['config', 'validate'])
    return gw
  }

  baseConfig(modelBaseUrl) {
    return {
      gateway: { mode: 'local', port: 18789, bind: 'loopback', auth: { mode: 'token', token: this.token }, tailscale: { mode: 'off' } },
      update: { checkOnStart: false },
      telemetry: { enabled: false },
      logging: { file: path.join(this.dir, 'openclaw.log') },
      plugins: {
        slots: { memory: 'none' },
        // Bundled plugins the suite has no use for; fewer to load on 2 cores.
        deny: ['browser', 'canvas', 'cua-computer', 'device-pair', 'file-transfer', 'geolocation', 'github', 'linux-node', 'ollama', 'talk-voice', 'xai', 'anthropic', 'openai'],
      },
      models: {
        mode: 'merge',
        catalogRefresh: { enabled: false },
        providers: {
          mock: {
            baseUrl: modelBaseUrl,
            apiKey: 'sk-mock',
            api: 'openai-completions',
            models: [
              {
                id: 'mock-model',
                name: 'Mock Model',
                reasoning: false,
                input: ['text'],
                cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                contextWindow: 128000,
                maxTokens: 4096,
              },
            ],
          },
        },
      },
      agents: {
        defaults: {
          model: { primary: 'mock/mock-model' },
          workspace: path.join(this.dir, 'workspace'),
          heartbeat: { every: '0m' },
        },
      },
      tools: { toolSearch: false, exec: { mode: 'full', host: 'gateway' } },
    }
  }

  readConfig() {
    return JSON.parse(readFileSync(this.configPath, 'utf8'))
  }

  writeConfig(cfg) {
    writeFileSync(this.configPath, `${JSON.stringify(cfg, null, 2)}\n`)
  }

  /** `openclaw <args>` against this gateway's state; throws on a non-zero exit. */
  async cli(args, { timeoutMs = 120_000, check = true } = {}) {
    const r = await exec(this.node, [this.openclaw, ...args], { env: this.env, cwd: this.dir, timeoutMs })
    if (check && r.code !== 0) throw new Error(`openclaw ${args.join(' ')} exited ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`)
    return r
  }

  get storePath() {
    return path.join(this.stateDir, 'task-guard', 'guards.db')
  }

  /** Starts `openclaw gateway run` on a fresh port; resolves once /readyz answers 200 and the client is connected. */
  async start({ timeoutMs = 90_000 } = {}) {
    if (this.proc) throw new Error('gateway already running')
    this.port = await freePort()
    const n = ++this.starts
    const out = createWriteStream(path.join(this.dir, `gateway-${n}.out`))
    const t0 = Date.now()
    const proc = spawn(this.node, [this.openclaw, 'gateway', 'run', '--port', String(this.port)], {
      env: this.env,
      cwd: this.dir,
      detached: true, // its own process group: stop() ends everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.proc = proc
    live.add(proc)
    proc.stdout.pipe(out)
    proc.stderr.pipe(out)
    proc.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`gateway exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${this.outputTail(n)}`)
      }
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(2000) })
        if (res.status === 200) break
      } catch {}
      if (Date.now() > deadline) {
        await this.stop()
        throw new Error(`gateway not ready within ${timeoutMs} ms:\n${this.outputTail(n)}`)
      }
      await new Promise((r) => setTimeout(r, 200))
    }
    this.readyMs = Date.now() - t0
    this.client = await GatewayClient.connect(`ws://127.0.0.1:${this.port}`, this.token)
    this.client.on('event', (name, payload) => {
      if (name !== 'chat' && name !== 'chat.side_result' && name !== 'agent') return
      const e = { name, payload, at: Date.now() }
      this.events.push(e)
      this.bus.emit('event', e)
    })
    return this
  }

  outputTail(n = this.starts, chars = 4000) {
    try {
      return readFileSync(path.join(this.dir, `gateway-${n}.out`), 'utf8').slice(-chars)
    } catch {
      return ''
    }
  }

  /**
   * Stops the gateway: `signal` to its process group, then SIGKILL after `graceMs`.
   * Resolves with how it exited.
   */
  async stop({ signal = 'SIGTERM', graceMs = 20_000 } = {}) {
    const proc = this.proc
    if (!proc) return null
    const t0 = Date.now()
    const group = (sig) => {
      try {
        process.kill(-proc.pid, sig)
      } catch {}
    }
    // The client stays connected while the gateway drains: events of work finishing still arrive.
    group(signal)
    let exit = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r(null), graceMs).unref())])
    const forced = exit === null
    if (forced) exit = (group('SIGKILL'), await proc.exited)
    group('SIGKILL') // whatever it started and left behind
    live.delete(proc)
    this.client?.close()
    this.client = null
    this.proc = null
    return { ...exit, forced, ms: Date.now() - t0 }
  }

  /** GET /readyz: its status, or the connection error's code. */
  async readyz() {
    try {
      return (await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(2000) })).status
    } catch (err) {
      return err.cause?.code ?? err.name
    }
  }

  /** Resolves once /readyz stops answering 200 (a stopping gateway is draining). */
  async waitNotReady(timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const status = await this.readyz()
      if (status !== 200) return status
      if (Date.now() > deadline) throw new Error(`gateway still ready ${timeoutMs} ms after the stop signal`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Stops (SIGTERM, or SIGKILL with `{ kill: true }`) and starts again, same state, new port. */
  async restart({ kill = false } = {}) {
    const stopped = await this.stop({ signal: kill ? 'SIGKILL' : 'SIGTERM' })
    await this.start()
    return stopped
  }

  /** Another operator client of this gateway, asking for `scopes` (closed with the gateway by the caller). */
  connectClient({ scopes }) {
    return GatewayClient.connect(`ws://127.0.0.1:${this.port}`, this.token, { scopes })
  }

  request(method, params, opts) {
    if (!this.client) throw new Error('gateway not started')
    return this.client.request(method, params, opts)
  }

  /**
   * chat.send: resolves with `{ runId, ack, answer }` once the gateway acknowledged;
   * `answer` resolves with the first text delivered for that run — the chat final
   * event's message or a chat.side_result — as `{ text, via, errored, payload }`.
   */
  async send(sessionKey, message, { timeoutMs = 60_000 } = {}) {
    const runId = randomUUID()
    const answer = this.answerOf(runId, { timeoutMs })
    answer.catch(() => {}) // a test that never awaits it is not an unhandled rejection
    const ack = await this.request('chat.send', { sessionKey, message, idempotencyKey: runId })
    return { runId: ack?.runId ?? runId, ack, answer }
  }

  /**
   * What was delivered for `runId` (seen already or to come), once its chat event is
   * terminal: the final message's text, else the text of a side result (`chat.side_result`,
   * a `btw` answer) sent for that run. `errored`: the chat event was an error or abort.
   */
  answerOf(runId, { timeoutMs = 60_000 } = {}) {
    return new Promise((resolve, reject) => {
      let side = null
      let terminal = null
      let done = false
      let graceTimer = null
      const finish = () => {
        if (done) return
        done = true
        cleanup()
        const finalText = terminal ? messageText(terminal.message) : ''
        resolve({
          text: finalText || side?.text || terminal?.errorMessage || '',
          via: finalText ? `chat.${terminal.state}` : side ? 'side_result' : `chat.${terminal?.state}`,
          state: terminal?.state ?? null,
          errored: terminal ? terminal.state !== 'final' : false,
          final: terminal,
          side,
        })
      }
      const onEvent = ({ name, payload }) => {
        if (done || payload?.runId !== runId) return
        if (name === 'chat.side_result' && side === null) {
          side = payload
          if (terminal) finish()
        } else if (name === 'chat' && terminal === null && ['final', 'error', 'aborted'].includes(payload.state)) {
          terminal = payload
          // A final without a message may have its side result still on the way.
          if (side || messageText(payload.message) || payload.state !== 'final') finish()
          else graceTimer = setTimeout(finish, 2000)
        }
      }
      const timer = setTimeout(() => {
        if (done) return
        done = true
        cleanup()
        reject(new Error(`no answer for run ${runId} within ${timeoutMs} ms`))
      }, timeoutMs)
      timer.unref()
      const cleanup = () => {
        clearTimeout(timer)
        clearTimeout(graceTimer)
        this.bus.off('event', onEvent)
      }
      this.bus.on('event', onEvent)
      for (const e of this.events) onEvent(e)
    })
  }

  /** agent.wait: how run `runId` ended ({ status: 'ok' | 'error' | 'timeout', ... }). */
  wait(runId, timeoutMs = 60_000) {
    return this.request('agent.wait', { runId, timeoutMs }, { timeoutMs: timeoutMs + 10_000 })
  }

  /** chat.history: the session's messages. */
  async history(sessionKey, limit = 200) {
    const res = await this.request('chat.history', { sessionKey, limit })
    return res?.messages ?? []
  }

  /** The package's own CLI, `task-guard inspect --json`, on the gateway's store (no prefix: every key). */
  async inspect({ prefix } = {}) {
    // The plugin opens its store at gateway_start, which OpenClaw runs after it is ready.
    if (!existsSync(this.storePath)) return { guards: [], counts: { running: 0, stale: 0, failed: 0, approved: 0 }, noStore: true }
    const args = [path.join(repoRoot, 'bin', 'task-guard.js'), 'inspect', '--store', `sqlite:${this.storePath}`, '--namespace', 'openclaw', '--json']
    if (prefix) args.push('--prefix', prefix)
    const r = await exec(process.execPath, args, { env: { ...process.env, TASK_GUARD_STORE: '' }, timeoutMs: 30_000 })
    if (r.code !== 0) throw new Error(`task-guard inspect exited ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }

  /** The guard of `key` in the store (inspect), or undefined. */
  async guardOf(key) {
    return (await this.inspect()).guards.find((g) => g.key === key)
  }

  async dispose({ keep = false } = {}) {
    await this.stop()
    if (!keep) rmSync(this.dir, { recursive: true, force: true })
  }
}
