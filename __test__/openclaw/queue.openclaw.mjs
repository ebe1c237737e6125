// The session lane, on OpenClaw's own command queue: a lane runs one task at a time
// and queues later triggers, so unguarded duplicates all run (one after another). A
// guard taken at trigger time lets one run and answers the rest, naming that run.

import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { TaskGuard } from '../../index.mjs'
import { guardTrigger } from '../../openclaw/index.mjs'
import { gate, startGateway, useStateDir } from './gateway.mjs'

const stateDir = useStateDir()
const N = 8
let gw
let guard

before(async () => {
  gw = await startGateway({ dispatch: { tasks: [{ match: '^/deploy\\b', task: 'deploy' }] } })
  guard = await TaskGuard.open({ store: `sqlite:${path.join(stateDir, 'task-guard', 'guards.db')}`, namespace: 'openclaw' })
})
after(async () => {
  await gw?.hooks.runGatewayStop({ reason: 'test' }, {})
  await guard?.close()
})

/** The task a trigger runs in its session's lane: counts executions, holds until released. */
function taskBody() {
  const started = gate()
  const finish = gate()
  let executions = 0
  return {
    started: started.promise,
    finish: finish.open,
    get executions() {
      return executions
    },
    async run() {
      executions++
      started.open()
      await finish.promise
    },
  }
}

test(`without a guard: ${N} triggers for one task → ${N} executions on the session lane`, async () => {
  const lane = 'session:agent:main:telegram:direct:1'
  const body = taskBody()
  const runs = Array.from({ length: N }, () => gw.oc.enqueueCommandInLane(lane, () => body.run()))
  await body.started
  assert.equal(body.executions, 1, 'the lane runs one at a time')
  body.finish()
  await Promise.all(runs)
  assert.equal(body.executions, N, 'every queued duplicate ran once the first had finished')
})

test(`guardTrigger: ${N} triggers while the first is active → 1 execution, ${N - 1} already_running naming it`, async () => {
  const sessionKey = 'agent:main:telegram:direct:2'
  const body = taskBody()
  const trigger = () =>
    guardTrigger(guard, { sessionKey, task: 'report' }, () => gw.oc.enqueueCommandInLane(`session:${sessionKey}`, () => body.run()))
  const first = await trigger()
  assert.equal(first.handled, false)
  await body.started
  const rest = await Promise.all(Array.from({ length: N - 1 }, trigger))
  for (const r of rest) {
    assert.equal(r.handled, true)
    assert.equal(r.conflict.status, 'already_running')
    assert.equal(r.conflict.runId, first.lease.runId)
    assert.ok(r.text.includes(first.lease.runId), r.text)
  }
  body.finish()
  assert.deepEqual(await first.outcome, { status: 'succeeded', value: undefined })
  assert.equal(body.executions, 1)
  // Ended: the next trigger runs again.
  const next = await trigger()
  assert.equal(next.handled, false)
  assert.equal((await next.outcome).status, 'succeeded')
  assert.equal(body.executions, 2)
})

test('guardTrigger: work that fails blocks the task until approved', async () => {
  const sessionKey = 'agent:main:telegram:direct:3'
  const run = () =>
    guardTrigger(guard, { sessionKey, task: 'sync' }, () =>
      gw.oc.enqueueCommandInLane(`session:${sessionKey}`, async () => {
        throw new Error('upstream 500')
      }),
    )
  const first = await run()
  const out = await first.outcome
  assert.equal(out.status, 'failed')
  assert.equal(out.error.message, 'upstream 500')
  const second = await run()
  assert.equal(second.conflict.status, 'awaiting_approval')
  assert.match(second.text, /upstream 500.*needs approval/)
  await guard.approveRetry(`${sessionKey}::sync`)
  const third = await run()
  assert.equal(third.handled, false)
  assert.equal((await third.outcome).status, 'failed')
})

/** OpenClaw's dispatch: before_dispatch hooks first; an unhandled message becomes a turn on the session lane. */
function dispatcher(sessionKey) {
  const body = taskBody()
  const answers = []
  let seq = 0
  async function dispatch(content, { success = true } = {}) {
    const messageId = `m${++seq}`
    const res = await gw.hooks.runBeforeDispatch(
      { messageId, content, body: content, channel: 'telegram', sessionKey, senderId: 'u1', isGroup: false, timestamp: Date.now() },
      { messageId, channelId: 'telegram', sessionKey, senderId: 'u1' },
    )
    if (res?.handled) {
      answers.push(res.text)
      return { answered: res.text }
    }
    const turn = gw.oc.enqueueCommandInLane(`session:${sessionKey}`, async () => {
      await body.run()
      await gw.hooks.runAgentEnd(
        { runId: `turn-${messageId}`, messages: [{ role: 'user', content }, { role: 'assistant', content: 'done' }], success, ...(success ? {} : { error: 'model error' }) },
        { sessionKey, runId: `turn-${messageId}`, agentId: 'main', channelId: 'telegram' },
      )
    })
    return { turn }
  }
  return { body, answers, dispatch }
}

test(`the plugin's before_dispatch: ${N} "/deploy" triggers → 1 turn, ${N - 1} answers naming its run`, async () => {
  const sessionKey = 'agent:main:telegram:direct:4'
  const key = `${sessionKey}::deploy`
  const d = dispatcher(sessionKey)
  const results = await Promise.all(Array.from({ length: N }, () => d.dispatch('/deploy prod')))
  const turns = results.filter((r) => r.turn)
  assert.equal(turns.length, 1)
  assert.equal(d.answers.length, N - 1)
  const held = (await guard.inspect({ prefix: key })).guards[0]
  assert.equal(held.state, 'running')
  for (const text of d.answers) assert.ok(text.includes(`run ${held.runId}`) && text.includes('already running'), text)

  // Other messages in the session are not guarded.
  const chat = await d.dispatch('hello there')
  assert.ok(chat.turn)

  d.body.finish()
  await Promise.all([turns[0].turn, chat.turn])
  assert.equal(d.body.executions, 2)
  assert.equal((await guard.inspect({ prefix: key })).guards.length, 0, 'the turn ended: the key is free')
  const again = await d.dispatch('/deploy prod')
  assert.ok(again.turn)
  await again.turn
})

test('the plugin: a failed /deploy turn is answered with its failure until approved', async () => {
  const sessionKey = 'agent:main:telegram:direct:5'
  const d = dispatcher(sessionKey)
  d.body.finish()
  const first = await d.dispatch('/deploy prod', { success: false })
  await first.turn
  const second = await d.dispatch('/deploy prod')
  assert.match(second.answered, /failed .*model error.*needs approval/)
  await guard.approveRetry(`${sessionKey}::deploy`)
  const third = await d.dispatch('/deploy prod')
  assert.ok(third.turn)
  await third.turn
})
