// The plugin as OpenClaw runs it: registered several times in one gateway process,
// each registration called for a different part of a turn, and restarted. What a
// held run is for lives in the store, so any registration (and the next process)
// finds it; duplicate answers on the webchat go out as side answers.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { createRequire } from 'node:module'
import { TaskGuard } from '../index.mjs'
import { HeldRuns, createDispatchGuard, endOrphans, interruptedStatus, resolveConfig, sharedRuntime, turnFailure } from '../openclaw/index.mjs'

const require = createRequire(import.meta.url)
const { tempDir } = require('./sqlite-helpers.cjs')

const rules = [{ match: /^\/deploy\b/, task: 'deploy' }]
const S = 'agent:main:main'
const KEY = `${S}::deploy`

/** One registration of the plugin: its own handlers, held runs and store connection. */
async function registration(store, origin) {
  const guard = await TaskGuard.open({ store, namespace: 'openclaw' })
  const held = new HeldRuns(() => guard, { heartbeatMs: 60_000 })
  const answered = new Map()
  return { guard, held, answered, dispatch: createDispatchGuard({ getGuard: () => guard, held, rules, ttlMs: 60_000, answered, origin }) }
}

const stateOf = async (guard, key) => (await guard.inspect({ prefix: key })).guards.find((g) => g.key === key)?.state ?? 'free'
const userTurn = (text) => [
  { role: 'user', content: [{ type: 'text', text: `[Wed 2026-11-25 20:49 UTC] ${text}` }] },
  { role: 'assistant', content: [{ type: 'text', text: 'done' }] },
  // OpenClaw's own context rides as a last user message; it is not the prompt.
  { role: 'user', content: [{ type: 'text', text: '<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> …' }] },
]

test('agent_end on another registration than before_dispatch releases the turn (found in the store)', async () => {
  const store = `sqlite:${path.join(tempDir(), 'guards.db')}`
  const origin = { gateway: 'g1', process: 'p1' }
  const gateway = await registration(store, origin)
  const perRun = await registration(store, origin)

  assert.equal(await gateway.dispatch.beforeDispatch({ content: '/deploy prod', messageId: 'm1', channel: 'webchat' }, { sessionKey: S }), undefined)
  const dup = await gateway.dispatch.beforeDispatch({ content: '/deploy prod', messageId: 'm2', channel: 'webchat' }, { sessionKey: S })
  assert.equal(dup.handled, true)
  assert.match(dup.text, /already running: run [0-9a-f-]{36}/)
  const running = (await gateway.guard.inspect({ prefix: KEY })).guards[0]
  assert.deepEqual(running.meta, { ...origin, kind: 'turn', trigger: 'message', sessionKey: S, messageId: 'm1', prompt: '/deploy prod' })

  // A turn of another message ending (same session) releases nothing.
  await perRun.dispatch.agentEnd({ runId: 'm0', success: true, messages: userTurn('hello') }, { sessionKey: S, runId: 'm0' })
  assert.equal(await stateOf(gateway.guard, KEY), 'running')

  // The per-run registration never saw before_dispatch; it finds the turn by the message id (chat.send's run id).
  await perRun.dispatch.agentEnd({ runId: 'm1', success: true, messages: userTurn('/deploy prod') }, { sessionKey: S, runId: 'm1' })
  assert.equal(await stateOf(gateway.guard, KEY), 'free')
  assert.equal((await gateway.guard.acquire(KEY)).status, 'acquired', 'the next /deploy runs')
  gateway.held.stop()
  await gateway.guard.close()
  await perRun.guard.close()
})

test('a channel turn (random run id) is found by its prompt; a failed turn blocks its task', async () => {
  const store = `sqlite:${path.join(tempDir(), 'guards.db')}`
  const a = await registration(store, { gateway: 'g1', process: 'p1' })
  const b = await registration(store, { gateway: 'g1', process: 'p1' })
  await a.dispatch.beforeDispatch({ content: '/deploy prod', messageId: 'tg-41', channel: 'telegram' }, { sessionKey: S })
  await b.dispatch.agentEnd({ success: false, error: 'model exploded', messages: userTurn('/deploy prod') }, { sessionKey: S, runId: 'random-run' })
  const blocked = await a.dispatch.beforeDispatch({ content: '/deploy prod', messageId: 'tg-42', channel: 'telegram' }, { sessionKey: S })
  assert.match(blocked.text, /failed \(run [0-9a-f-]{36}, .*: model exploded\) and needs approval/)
  assert.equal(a.answered.size, 0, 'no side answer off the webchat')
  a.held.stop()
  await a.guard.close()
  await b.guard.close()
})

test('a webchat duplicate is answered as a side answer (not written to the transcript); others are untouched', async () => {
  const store = `sqlite:${path.join(tempDir(), 'guards.db')}`
  const r = await registration(store, { gateway: 'g1', process: 'p1' })
  await r.dispatch.beforeDispatch({ content: '/deploy prod', messageId: 'm1', channel: 'webchat' }, { sessionKey: S })
  const dup = await r.dispatch.beforeDispatch({ content: '/deploy prod', messageId: 'm2', channel: 'webchat' }, { sessionKey: S })
  const payload = { text: dup.text }
  assert.deepEqual(r.dispatch.replyPayloadSending({ payload, runId: 'm2' }), { payload: { text: dup.text, btw: { question: '/deploy prod' } } })
  assert.equal(r.dispatch.replyPayloadSending({ payload, runId: 'm2' }), undefined, 'once')
  assert.equal(r.dispatch.replyPayloadSending({ payload: { text: 'DEPLOYED' }, runId: 'm1' }), undefined, "the turn's own reply is untouched")
  r.held.stop()
  await r.guard.close()
})

test('one runtime per store in a process, shared by every registration', () => {
  const stateDir = tempDir()
  const open = () => Promise.reject(new Error('not opened in this test'))
  const cfg = resolveConfig({}, { stateDir })
  const first = sharedRuntime(cfg, { stateDir, open })
  assert.equal(sharedRuntime(resolveConfig({}, { stateDir }), { stateDir, open }), first)
  const other = sharedRuntime(resolveConfig({ store: 'memory:' }, { stateDir }), { stateDir, open })
  assert.notEqual(other, first)
  assert.equal(other.origin.process, first.origin.process)
  assert.equal(other.origin.gateway, first.origin.gateway)
  assert.notEqual(sharedRuntime(resolveConfig({}, { stateDir: tempDir() }), { stateDir: tempDir(), open }).origin.gateway, first.origin.gateway)
})

test("a restart ends the children and commands the gateway's earlier process held, as staleness would; nobody else's", async () => {
  const store = `sqlite:${path.join(tempDir(), 'guards.db')}`
  const guard = await TaskGuard.open({ store, namespace: 'openclaw' })
  const mine = await guard.acquire('s::old', { meta: { gateway: 'g1', process: 'p-old', kind: 'tool' } })
  const turn = await guard.acquire('s::turn', { meta: { gateway: 'g1', process: 'p-old', kind: 'turn' } })
  const current = await guard.acquire('s::current', { meta: { gateway: 'g1', process: 'p-new', kind: 'spawn' } })
  const otherGateway = await guard.acquire('s::other', { meta: { gateway: 'g2', process: 'p-x', kind: 'tool' } })
  const notPlugin = await guard.acquire('s::app', { meta: { by: 'someone' } })
  assert.equal(interruptedStatus('heal'), 'cancelled')
  assert.equal(interruptedStatus('fail'), 'failed')
  const ended = await endOrphans(guard, { gateway: 'g1', process: 'p-new' }, 'failed')
  assert.deepEqual(
    ended.map((g) => g.runId),
    [mine.runId],
  )
  const blocked = await guard.acquire('s::old')
  assert.equal(blocked.status, 'awaiting_approval')
  assert.match(blocked.error, /gateway restarted/)
  // A turn is left for OpenClaw to resume (or to go stale); the others are not this gateway's old work.
  for (const [key, run] of [['s::turn', turn], ['s::current', current], ['s::other', otherGateway], ['s::app', notPlugin]]) {
    const g = (await guard.inspect({ prefix: key })).guards[0]
    assert.deepEqual([g.state, g.runId], ['running', run.runId], key)
  }
  await guard.close()
})

test('a turn a restart interrupted is adopted by the turn OpenClaw resumes it with, and ends with that turn', async () => {
  const store = `sqlite:${path.join(tempDir(), 'guards.db')}`
  const before = await registration(store, { gateway: 'g1', process: 'p-old' })
  await before.dispatch.beforeDispatch({ content: '/deploy prod', messageId: 'm1', channel: 'webchat' }, { sessionKey: S })
  const [interrupted] = (await before.guard.inspect({ prefix: KEY })).guards
  before.held.stop() // the process is gone
  await before.guard.close()

  const after = await registration(store, { gateway: 'g1', process: 'p-new' })
  assert.deepEqual(await endOrphans(after.guard, { gateway: 'g1', process: 'p-new' }, 'cancelled'), [], 'the turn is not ended at start')
  // A user's /deploy meanwhile is a duplicate of the interrupted turn.
  const dup = await after.dispatch.beforeDispatch({ content: '/deploy prod', messageId: 'm2', channel: 'webchat' }, { sessionKey: S })
  assert.match(dup.text, new RegExp(`already running: run ${interrupted.runId}`))
  // A run of another prompt adopts nothing.
  await after.dispatch.beforeAgentRun({ prompt: 'hello' }, { sessionKey: S, runId: 'r-hello' })
  assert.equal(after.held.size, 0)
  const resume = '[System] Your previous turn was interrupted by a gateway restart while OpenClaw was waiting on tool/model work.'
  await after.dispatch.beforeAgentRun({ prompt: resume }, { sessionKey: S, runId: 'r-resume' })
  assert.equal(after.held.size, 1, 'adopted: heartbeated by this process')
  // Another turn's end (its prompt is not the /deploy) leaves it held.
  await after.dispatch.agentEnd({ runId: 'r-hello', success: true, messages: userTurn('hello') }, { sessionKey: S, runId: 'r-hello' })
  assert.equal(await stateOf(after.guard, KEY), 'running')
  await after.dispatch.agentEnd({ runId: 'r-resume', success: true, messages: userTurn(resume) }, { sessionKey: S, runId: 'r-resume' })
  assert.equal(await stateOf(after.guard, KEY), 'free')
  assert.equal(after.held.size, 0)
  await after.guard.close()
})

test("a turn whose model call failed is a failed turn, though OpenClaw's agent_end says success", () => {
  const failedCall = [
    { role: 'user', content: '/deploy prod' },
    { role: 'assistant', content: [], stopReason: 'error', errorMessage: '400 bad request' },
  ]
  assert.equal(turnFailure({ success: true, messages: failedCall }), '400 bad request')
  assert.equal(turnFailure({ success: true, messages: [...failedCall.slice(0, 1), { role: 'assistant', content: [], stopReason: 'error' }] }), 'the model call failed')
  assert.equal(turnFailure({ success: true, messages: [{ role: 'assistant', content: 'ok', stopReason: 'stop' }] }), null)
  assert.equal(turnFailure({ success: false, error: 'aborted', messages: [] }), 'aborted')
  assert.equal(turnFailure({ success: false, messages: [] }), 'turn failed')
})
