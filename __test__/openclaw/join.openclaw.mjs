// Join, replay and metrics, the way OpenClaw calls the plugin: a duplicate /deploy
// or sessions_spawn configured to join waits for the first run and is answered with
// its result; a /deploy within replayMs of a success is answered with the stored
// result; /taskguard metrics and the gateway's route and method give the metrics.

import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'
import parsePrometheus from 'parse-prometheus-text-format'
import { TaskGuard } from '../../index.mjs'
import { fitResult, MAX_RESULT_BYTES, resolveConfig } from '../../openclaw/index.mjs'
import { registerTaskGuard } from '../../openclaw/plugin.mjs'
import { gate, spawnTool, startGateway, useStateDir } from './gateway.mjs'

const stateDir = useStateDir()
const REPLAY_MS = 1500
let gw
let guard // a second guard on the plugin's store, as an operator's CLI would open

before(async () => {
  gw = await startGateway({
    replayMs: REPLAY_MS,
    spawn: { onDuplicate: 'join', joinTimeoutMs: 10_000 },
    dispatch: {
      tasks: [
        { match: '^/deploy\\b', task: 'deploy', onDuplicate: 'join', joinTimeoutMs: 10_000 },
        { match: '^/slow\\b', task: 'slow', onDuplicate: 'join', joinTimeoutMs: 200 },
        { match: '^/report\\b', task: 'report' },
      ],
    },
  })
  guard = await TaskGuard.open({ store: `sqlite:${path.join(stateDir, 'task-guard', 'guards.db')}`, namespace: 'openclaw' })
})
after(async () => {
  await gw?.hooks.runGatewayStop({ reason: 'test' }, {})
  await guard?.close()
})

/** The plugin's `already_running` answers so far, from /taskguard metrics. */
async function alreadyRunning() {
  const { text } = await gw.command.handler({ args: 'metrics', channel: 'telegram', isAuthorizedSender: true, commandBody: '/taskguard metrics', config: {} })
  const family = parsePrometheus(text).find((f) => f.name === 'task_guard_acquires_total')
  return Number(family.metrics.find((m) => m.labels.answer === 'already_running').value)
}

/** Resolves once the store has answered `already_running` `target` times (a joining duplicate waits after that). */
async function untilAlreadyRunning(target) {
  for (let i = 0; (await alreadyRunning()) < target; i++) {
    if (i > 500) throw new Error(`fewer than ${target} already_running answers`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * OpenClaw's dispatch of one session: before_dispatch, then (unhandled) a turn on the
 * session lane whose before_agent_run runs first and whose agent_end carries `reply`.
 */
function dispatcher(sessionKey) {
  let seq = 0
  let turns = 0
  const held = []
  async function dispatch(content, { reply = 'DONE', success = true, hold = false, timestamp = Date.now() } = {}) {
    const messageId = `m${++seq}`
    const res = await gw.hooks.runBeforeDispatch(
      { messageId, content, body: content, channel: 'telegram', sessionKey, senderId: 'u1', isGroup: false, timestamp },
      { messageId, channelId: 'telegram', sessionKey, senderId: 'u1' },
    )
    if (res?.handled) return { answered: res.text }
    turns++
    const runId = `turn-${messageId}`
    const ctx = { sessionKey, runId, agentId: 'main', channelId: 'telegram' }
    const started = gate()
    const finish = gate()
    held.push(finish)
    const turn = gw.oc.enqueueCommandInLane(`session:${sessionKey}`, async () => {
      await gw.hooks.runBeforeAgentRun({ prompt: `[Mon 2026-09-07 10:00 UTC] ${content}`, messages: [] }, ctx)
      started.open()
      if (hold) await finish.promise
      await gw.hooks.runAgentEnd(
        {
          runId,
          messages: [
            { role: 'user', content },
            { role: 'assistant', content: [{ type: 'text', text: reply }], stopReason: success ? 'stop' : 'error' },
          ],
          success: true,
        },
        ctx,
      )
    })
    return { turn, started: started.promise, finish: finish.open }
  }
  return {
    dispatch,
    get turns() {
      return turns
    },
  }
}

test('config: onDuplicate, joinTimeoutMs and replayMs are checked and defaulted', async () => {
  const cfg = resolveConfig({ dispatch: { tasks: [{ match: 'x', task: 'x' }] } }, { stateDir })
  assert.equal(cfg.replayMs, 0)
  assert.deepEqual(cfg.spawn, { enabled: true, acceptTimeoutMs: 120_000, onDuplicate: 'answer', joinTimeoutMs: 120_000 })
  assert.equal(cfg.dispatch.tasks[0].onDuplicate, 'answer')
  for (const [raw, message] of [
    [{ spawn: { onDuplicate: 'wait' } }, /spawn\.onDuplicate must be "answer" or "join"/],
    [{ spawn: { joinTimeoutMs: 600_000 } }, /spawn\.joinTimeoutMs must be an integer from 1 to 595000/],
    [{ dispatch: { tasks: [{ match: 'x', task: 'x', joinTimeoutMs: 300_000 }] } }, /dispatch\.tasks\[0\]\.joinTimeoutMs must be an integer from 1 to 280000/],
    [{ replayMs: -1 }, /replayMs must be an integer from 0 to 604800000/],
  ]) {
    assert.throws(() => resolveConfig(raw, { stateDir }), message, JSON.stringify(raw))
  }
  // OpenClaw validates the schema first: a bad value never reaches the plugin.
  useStateDir()
  await assert.rejects(startGateway({ dispatch: { tasks: [{ match: 'x', task: 'x', onDuplicate: 'maybe' }] } }), /task-guard did not load/)
})

test('fitResult cuts a final text to what the store keeps, on a code point', () => {
  assert.equal(fitResult('short'), 'short')
  const cut = fitResult('é'.repeat(MAX_RESULT_BYTES))
  assert.ok(Buffer.byteLength(JSON.stringify(cut)) <= MAX_RESULT_BYTES)
  assert.match(cut, /^é+\n… \[cut to fit the task guard store\]$/)
})

test('join: duplicate /deploy while its turn runs wait and are answered with its final text; the model ran once', async () => {
  const d = dispatcher('agent:main:telegram:direct:j1')
  const first = await d.dispatch('/deploy prod', { reply: 'DEPLOYED v42', hold: true })
  await first.started
  const base = await alreadyRunning()
  const dupes = Promise.all([1, 2, 3].map(() => d.dispatch('/deploy prod')))
  await untilAlreadyRunning(base + 3)
  // Still waiting: none is answered before the first turn ends.
  const early = await Promise.race([dupes.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 200))])
  assert.equal(early, 'waiting')
  first.finish()
  await first.turn
  for (const { answered } of await dupes) {
    assert.match(answered, /^Task "deploy" was already running \(run [0-9a-f-]+\); it has finished\. Its result:\n\nDEPLOYED v42$/)
  }
  assert.equal(d.turns, 1)
})

test('join: a duplicate that arrived while the turn ran but reaches before_dispatch after it ended is answered with its result', async () => {
  const d = dispatcher('agent:main:telegram:direct:j4')
  const first = await d.dispatch('/deploy prod', { reply: 'DEPLOYED v43', hold: true })
  await first.started
  // OpenClaw holds a session's later messages while a joining duplicate waits: they arrive now…
  const arrived = Date.now()
  first.finish()
  await first.turn
  // …and reach the hook after the run ended (replay would answer too, but differently).
  const late = await d.dispatch('/deploy prod', { timestamp: arrived })
  assert.match(late.answered, /^Task "deploy" was already running \(run [0-9a-f-]+\); it has finished\. Its result:\n\nDEPLOYED v43$/)
  // One sent after the end is not its duplicate (here: replayed, as replayMs is on).
  assert.match((await d.dispatch('/deploy prod', { timestamp: Date.now() + 1 })).answered, /already completed/)
  assert.equal(d.turns, 1)
})

test('join: a failed first turn is answered as failed; a wait that runs out says it still runs', async () => {
  const d = dispatcher('agent:main:telegram:direct:j2')
  const first = await d.dispatch('/deploy prod', { success: false, hold: true })
  await first.started
  const dupe = d.dispatch('/deploy prod')
  first.finish()
  await first.turn
  assert.match((await dupe).answered, /was already running .* and failed: .*needs approval.*\/taskguard approve agent:main:telegram:direct:j2::deploy/)

  const slow = await d.dispatch('/slow job', { hold: true })
  await slow.started
  assert.match((await d.dispatch('/slow job')).answered, /Task "slow" is still running \(run .*\) after waiting 0s for it/)
  slow.finish()
  await slow.turn
})

test('join: a turn not yet started is not waited for (it may be queued behind the duplicate)', async () => {
  const d = dispatcher('agent:main:telegram:direct:j3')
  const blocker = gate()
  // The session lane is busy, so the /deploy turn is queued and has not started.
  const busy = gw.oc.enqueueCommandInLane('session:agent:main:telegram:direct:j3', () => blocker.promise)
  const first = await d.dispatch('/deploy prod')
  const t0 = Date.now()
  const { answered } = await d.dispatch('/deploy prod')
  assert.ok(Date.now() - t0 < 2000, 'answered at once')
  assert.match(answered, /is already running: run .*Not starting it again/)
  blocker.open()
  await busy
  await first.turn
})

test('replay: within replayMs a /deploy is answered with the stored result without a turn; after it, it runs', async () => {
  const d = dispatcher('agent:main:telegram:direct:r1')
  const first = await d.dispatch('/deploy prod', { reply: 'DEPLOYED v7' })
  await first.turn
  // Sent after the turn ended (a message stamped within it would be its joined duplicate).
  const again = await d.dispatch('/deploy prod', { timestamp: Date.now() + 1 })
  assert.match(again.answered, /^Task "deploy" already completed \(run [0-9a-f-]+, [^)]+\); not running it again so soon\. Its result:\n\nDEPLOYED v7$/)
  assert.equal(d.turns, 1)
  await new Promise((r) => setTimeout(r, REPLAY_MS + 100))
  const later = await d.dispatch('/deploy prod')
  assert.ok(later.turn, 'after the window it runs again')
  await later.turn
  assert.equal(d.turns, 2)
})

test('a task without join still answers at once, naming the run', async () => {
  const d = dispatcher('agent:main:telegram:direct:a1')
  const first = await d.dispatch('/report weekly', { hold: true })
  await first.started
  assert.match((await d.dispatch('/report weekly')).answered, /is already running: run /)
  first.finish()
  await first.turn
})

test("join: a duplicate sessions_spawn waits for the child and is blocked with the child's final text", async () => {
  const sessionKey = 'agent:main:telegram:direct:s1'
  const spawner = spawnTool(gw, { sessionKey })
  assert.equal((await spawner.call({ task: 'dig', taskName: 'research' })).details.status, 'accepted')
  const base = await alreadyRunning()
  const dupe = spawner.call({ task: 'dig again', taskName: 'research' })
  await untilAlreadyRunning(base + 1)
  const child = spawner.children[0]
  // The child's own turn ends with its answer, then OpenClaw reports it ended.
  await gw.hooks.runAgentEnd(
    { runId: child.runId, messages: [{ role: 'assistant', content: [{ type: 'text', text: 'FOUND 3 PAPERS' }] }], success: true },
    { sessionKey: child.childSessionKey, runId: child.runId, agentId: 'main' },
  )
  child.ended.open({ outcome: 'ok' })
  await child.finished
  const res = await dupe
  assert.equal(res.details.status, 'blocked')
  assert.match(res.details.reason, /^Task "research" was already running \(run .*\); it has finished\. Its result:\n\nFOUND 3 PAPERS$/)
  assert.equal(spawner.children.length, 1, 'one child started')
  // Within replayMs, a new spawn of the task is answered with that result too.
  const replayed = await spawner.call({ task: 'dig', taskName: 'research' })
  assert.match(replayed.details.reason, /already completed .*FOUND 3 PAPERS/s)
  assert.equal(spawner.children.length, 1)
})

test('metrics: /taskguard metrics, the HTTP route and the gateway method give Prometheus text', async () => {
  const { text } = await gw.command.handler({ args: 'metrics', channel: 'telegram', isAuthorizedSender: true, commandBody: '/taskguard metrics', config: {} })
  const families = new Map(parsePrometheus(text).map((f) => [f.name, f]))
  const acquires = families.get('task_guard_acquires_total')
  assert.equal(acquires?.type, 'COUNTER', text)
  const completed = acquires.metrics.find((m) => m.labels.answer === 'already_completed')
  assert.ok(Number(completed?.value) >= 2, `replayed acquires counted: ${JSON.stringify(acquires.metrics)}`)

  // The route and the method, as the gateway's `full` registration registers them (this
  // host loads plugins for discovery, where they are not registered).
  const routes = []
  const methods = new Map()
  const api = {
    registrationMode: 'full',
    pluginConfig: { store: 'memory:', namespace: 'metrics-test' },
    on() {},
    registerCommand() {},
    registerHttpRoute: (r) => routes.push(r),
    registerGatewayMethod: (name, handler, opts) => methods.set(name, { handler, opts }),
  }
  const plugin = registerTaskGuard(api, { stateDir })
  await (await plugin.getGuard()).acquire('k')
  assert.deepEqual(
    routes.map((r) => [r.path, r.auth, r.match]),
    [['/api/plugins/task-guard/metrics', 'gateway', 'exact']],
  )
  let body = ''
  const headers = {}
  const res = { statusCode: 0, setHeader: (k, v) => (headers[k] = v), end: (b) => (body = b ?? '') }
  assert.equal(await routes[0].handler({ method: 'GET' }, res), true)
  assert.equal(res.statusCode, 200)
  assert.match(headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const acquired = parsePrometheus(body).find((f) => f.name === 'task_guard_acquires_total').metrics.find((m) => m.labels.answer === 'acquired')
  assert.equal(acquired.value, '1')

  assert.equal(methods.get('taskguard.metrics')?.opts.scope, 'operator.read')
  const answer = await new Promise((resolve) => methods.get('taskguard.metrics').handler({ params: {}, respond: (ok, payload) => resolve({ ok, payload }) }))
  assert.equal(answer.ok, true)
  assert.ok(parsePrometheus(answer.payload.text).some((f) => f.name === 'task_guard_guards'))

  // Another registration (per agent run) registers neither again.
  routes.length = 0
  methods.clear()
  registerTaskGuard({ ...api, registrationMode: 'discovery' }, { stateDir })
  assert.equal(routes.length + methods.size, 0)
  await (await plugin.getGuard()).close()
})
