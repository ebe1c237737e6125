// Join, replay and metrics in a real OpenClaw gateway, configured for them (the other
// files keep the default: duplicates answered at once, no replay). Duplicate /deploy
// messages join the turn the mock model holds and get its final text; a /deploy re-sent
// within replayMs is answered with the stored result without reaching the model; a
// duplicate sessions_spawn gets the first child's final text; the metrics are read
// through the gateway's HTTP route, its RPC method and /taskguard metrics.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import parsePrometheus from 'parse-prometheus-text-format'
import { gate } from './mock-model.mjs'
import { UUID, brief, eventually, firstN, resolved, textOfMessage, useGateway } from './suite.mjs'

const REPLAY_MS = 8000
const ctx = useGateway({
  pluginConfig: {
    replayMs: REPLAY_MS,
    dispatch: { tasks: [{ match: '^/deploy\\b', task: 'deploy', onDuplicate: 'join', joinTimeoutMs: 60_000 }] },
    spawn: { onDuplicate: 'join', joinTimeoutMs: 60_000 },
    heartbeatMs: 1000,
  },
})
const TEST = { timeout: 120_000 }

/** A model turn of `session` for a user message: its first call (not one continuing after tool results). */
const turnCall = (session, text) => (c) =>
  c.sessionKey === resolved(session) && !c.isSubagent && c.newToolResults.length === 0 && c.lastUserText === text

async function untilNotRunning(key) {
  await eventually(async () => !(await ctx.gw.inspect()).guards.some((g) => g.key === key && g.state === 'running'), {
    what: async () => `${key} to stop running (${brief(await ctx.gw.inspect()).join('; ')})`,
  })
}

/** The `task_guard_acquires_total` sample of `answer` in Prometheus text. */
function acquires(text, answer) {
  const family = parsePrometheus(text).find((f) => f.name === 'task_guard_acquires_total')
  assert.equal(family?.type, 'COUNTER', `no task_guard_acquires_total counter in:\n${text}`)
  return Number(family.metrics.find((m) => m.labels.answer === answer)?.value)
}

describe('join: duplicates wait for the running run and get its result', () => {
  test('a) three duplicate /deploy while the first turn is held: each answered with its final text; the model asked once', TEST, async (t) => {
    const { gw, mock } = ctx
    const session = 'tgj-a'
    const key = `${resolved(session)}::deploy`
    const isDeploy = turnCall(session, '/deploy prod')
    const held = gate()
    mock.use((c) => (isDeploy(c) ? held.promise : undefined))
    t.after(() => held.open({ text: 'DEPLOYED build 42' }))

    const first = await gw.send(session, '/deploy prod')
    await mock.waitFor(isDeploy, { what: 'the first /deploy model call' })
    const dupes = await Promise.all([1, 2, 3].map(() => gw.send(session, '/deploy prod')))
    // They wait: none is answered while the first turn is held.
    await assert.rejects(
      firstN(
        dupes.map((d) => d.answer),
        1,
        { timeoutMs: 3000 },
      ),
      /timed out/,
      'a joining duplicate was answered before the first turn ended',
    )
    const [running] = (await gw.inspect()).guards.filter((g) => g.key === key)
    assert.equal(running?.state, 'running')

    held.open({ text: 'DEPLOYED build 42' })
    assert.equal((await first.answer).text, 'DEPLOYED build 42')
    for (const d of dupes) {
      const answer = await d.answer
      assert.equal(answer.errored, false, JSON.stringify(answer.final))
      assert.match(answer.text, /^Task "deploy" was already running \(run [^)]+\); it has finished\. Its result:\n\nDEPLOYED build 42$/, answer.text)
      assert.equal(UUID.exec(answer.text)?.[0], running.runId, 'it names the run that held the key')
    }
    assert.equal(mock.calls.filter(isDeploy).length, 1, 'the model was asked once for /deploy')
    const users = (await gw.history(session)).filter((m) => m.role === 'user').map(textOfMessage)
    assert.deepEqual(users, ['/deploy prod'], 'the duplicates never reached the transcript')
    await untilNotRunning(key)
  })

  test("c) a duplicate sessions_spawn while the child runs gets the child's final text", TEST, async (t) => {
    const { gw, mock } = ctx
    const session = 'tgj-c'
    const key = `${resolved(session)}::report`
    const isParent = (c) => c.sessionKey === resolved(session) && !c.isSubagent
    const isChild = (c) => c.isSubagent && c.allText.includes('TGJ-REPORT')
    const child = gate()
    mock.use((c) => {
      if (isChild(c)) return child.promise
      if (isParent(c) && c.newToolResults.length === 0 && /^spawn report \d$/.test(c.lastUserText)) {
        return { toolCalls: [{ name: 'sessions_spawn', arguments: { task: `TGJ-REPORT: write the weekly report (${c.lastUserText})`, taskName: 'report' } }] }
      }
      if (isParent(c) && c.newToolResults.length > 0) return { text: 'SPAWN RESULT SEEN' }
      return undefined
    })
    t.after(() => child.open({ text: 'REPORT: 7 incidents' }))

    assert.equal((await (await gw.send(session, 'spawn report 1')).answer).text, 'SPAWN RESULT SEEN')
    await mock.waitFor(isChild, { what: 'the child model call' })
    // The second turn's spawn waits for the child; the child is let go once it waits.
    const conflicts = async () => acquires((await gw.request('taskguard.metrics')).text, 'already_running')
    const before = await conflicts()
    const second = await gw.send(session, 'spawn report 2')
    await eventually(async () => (await conflicts()) > before, {
      what: 'the duplicate spawn to be answered already_running by the store',
    })
    child.open({ text: 'REPORT: 7 incidents' })
    // The second turn's spawn result, as the parent's transcript holds it.
    const spawnResults = async () => (await gw.history(session)).filter((m) => m.role === 'toolResult' && m.toolName === 'sessions_spawn')
    const answer = await eventually(async () => textOfMessage((await spawnResults())[1]), {
      what: 'the result of the second sessions_spawn in the transcript',
      timeoutMs: 60_000,
    })
    assert.match(answer, /Task "report" was already running \(run [^)]+\); it has finished\. Its result:\n\nREPORT: 7 incidents/, answer)
    await second.answer
    assert.equal(mock.calls.filter(isChild).length, 1, 'one child ran')
    await untilNotRunning(key)
  })
})

describe('replay: a /deploy re-sent within replayMs after success', () => {
  test('b) is answered with the stored result and not run; after the window it runs again', TEST, async () => {
    const { gw, mock } = ctx
    const session = 'tgj-b'
    const key = `${resolved(session)}::deploy`
    const isDeploy = turnCall(session, '/deploy prod')
    let calls = 0
    mock.use((c) => (isDeploy(c) ? { text: `DEPLOYED run ${++calls}` } : undefined))

    assert.equal((await (await gw.send(session, '/deploy prod')).answer).text, 'DEPLOYED run 1')
    await untilNotRunning(key)
    const endedAt = Date.now()
    const again = await (await gw.send(session, '/deploy prod')).answer
    assert.ok(Date.now() - endedAt < REPLAY_MS, 'answered within the window')
    assert.equal(again.errored, false, JSON.stringify(again.final))
    assert.match(again.text, /^Task "deploy" already completed \(run [^,]+, [^)]+\); not running it again so soon\. Its result:\n\nDEPLOYED run 1$/, again.text)
    assert.equal(mock.calls.filter(isDeploy).length, 1, 'the replayed /deploy did not reach the model')

    await new Promise((r) => setTimeout(r, Math.max(0, endedAt + REPLAY_MS + 500 - Date.now())))
    assert.equal((await (await gw.send(session, '/deploy prod')).answer).text, 'DEPLOYED run 2', 'after the window it runs again')
    assert.equal(mock.calls.filter(isDeploy).length, 2)
    await untilNotRunning(key)
  })
})

describe('metrics from the running gateway', () => {
  test('d) the HTTP route (gateway token), the RPC method and /taskguard metrics give parseable Prometheus text', TEST, async () => {
    const { gw } = ctx
    const url = `http://127.0.0.1:${gw.port}/api/plugins/task-guard/metrics`
    const res = await fetch(url, { headers: { authorization: `Bearer ${gw.token}` } })
    const body = await res.text()
    assert.equal(res.status, 200, body)
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
    const families = new Map(parsePrometheus(body).map((f) => [f.name, f]))
    for (const name of ['task_guard_acquires_total', 'task_guard_releases_total', 'task_guard_run_duration_seconds', 'task_guard_guards']) {
      assert.ok(families.has(name), `${name} in:\n${body}`)
    }
    // What the tests above did is counted: a replayed /deploy, joined duplicates.
    assert.ok(acquires(body, 'already_completed') >= 1, body)
    assert.ok(acquires(body, 'already_running') >= 2, body)
    const anonymous = (await fetch(url)).status
    assert.ok(anonymous === 401 || anonymous === 403, `the route needs the gateway token: ${anonymous}`)

    const rpc = await gw.request('taskguard.metrics')
    assert.match(rpc.contentType, /^text\/plain; version=0\.0\.4/)
    assert.ok(acquires(rpc.text, 'acquired') >= 4, rpc.text)

    const chat = await (await gw.send('tgj-d', '/taskguard metrics')).answer
    assert.ok(acquires(chat.text, 'already_completed') >= 1, chat.text)
  })
})
