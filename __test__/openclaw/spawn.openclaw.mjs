// sessions_spawn, the way OpenClaw calls the plugin: duplicate spawns of a named task
// are blocked with the running run named, the key is freed when the child ends, and a
// failed child blocks the task until approveRetry.

import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { TaskGuard } from '../../index.mjs'
import { spawnTool, startGateway, useStateDir } from './gateway.mjs'

const stateDir = useStateDir()
const sessionKey = 'agent:main:telegram:direct:123456'
let gw
let guard // a second guard on the plugin's store, as an operator's CLI would open

before(async () => {
  gw = await startGateway({})
  guard = await TaskGuard.open({ store: `sqlite:${path.join(stateDir, 'task-guard', 'guards.db')}`, namespace: 'openclaw' })
})
after(async () => {
  await gw?.hooks.runGatewayStop({ reason: 'test' }, {})
  await guard?.close()
})

const running = async (key) => (await guard.inspect({ prefix: key })).guards.find((g) => g.key === key)

test('duplicate spawns of one task while the child runs: 1 child, the rest blocked naming its run', async () => {
  const spawner = spawnTool(gw, { sessionKey })
  const key = `${sessionKey}::research`
  const first = await spawner.call({ task: 'dig', taskName: 'research' })
  assert.equal(first.details.status, 'accepted')
  const run = await running(key)
  assert.equal(run.state, 'running')
  assert.equal(run.owner, `openclaw:${sessionKey}`)

  const dupes = await Promise.all(Array.from({ length: 6 }, () => spawner.call({ task: 'dig again', taskName: 'research' })))
  for (const d of dupes) {
    assert.equal(d.details.status, 'blocked')
    assert.match(d.details.reason, /already running/)
    assert.ok(d.details.reason.includes(run.runId), d.details.reason)
    assert.ok(d.details.reason.includes(new Date(run.startedAt).toISOString()))
    assert.ok(d.details.reason.includes(`owner openclaw:${sessionKey}`))
  }
  assert.equal(spawner.children.length, 1, 'one child started')

  // Another task name, and a spawn with no task name, are not held back.
  assert.equal((await spawner.call({ task: 'x', taskName: 'summary' })).details.status, 'accepted')
  assert.equal((await spawner.call({ task: 'y' })).details.status, 'accepted')
  assert.equal((await spawner.call({ task: 'y' })).details.status, 'accepted')
  assert.equal(spawner.children.length, 4)

  // The child ends well: the key is free and a new spawn is accepted.
  spawner.children[0].ended.open({ outcome: 'ok' })
  await spawner.children[0].finished
  assert.equal(await running(key), undefined)
  const again = await spawner.call({ task: 'dig', taskName: 'research' })
  assert.equal(again.details.status, 'accepted')
  const rerun = await running(key)
  assert.notEqual(rerun.runId, run.runId)
  assert.ok(rerun.fencingToken > run.fencingToken)
  for (const c of spawner.children.slice(1)) c.ended.open({ outcome: 'ok' })
  await Promise.all(spawner.children.map((c) => c.finished))
  assert.equal(await running(key), undefined)
})

test('a failed child blocks the task until approveRetry, then it runs as attempt 2', async () => {
  const spawner = spawnTool(gw, { sessionKey })
  const key = `${sessionKey}::deploy`
  assert.equal((await spawner.call({ task: 'ship', taskName: 'deploy' })).details.status, 'accepted')
  spawner.children[0].ended.open({ outcome: 'error', error: 'build broke' })
  await spawner.children[0].finished
  const failed = await running(key)
  assert.equal(failed.state, 'failed')
  assert.equal(failed.error, 'build broke')

  const blocked = await spawner.call({ task: 'ship', taskName: 'deploy' })
  assert.equal(blocked.details.status, 'blocked')
  assert.match(blocked.details.reason, /failed .*build broke.*needs approval/)
  assert.ok(blocked.details.reason.includes(failed.runId))
  assert.equal(spawner.children.length, 1)

  // The operator approves from chat through the plugin's command.
  const reply = await gw.command.handler({ args: `approve ${key}`, channel: 'telegram', senderId: 'ops', isAuthorizedSender: true, senderIsOwner: true, commandBody: `/taskguard approve ${key}`, config: {} })
  assert.match(reply.text, /Approved: .* may run again \(attempt 2\)/)
  assert.equal((await spawner.call({ task: 'ship', taskName: 'deploy' })).details.status, 'accepted')
  const second = await running(key)
  assert.equal(second.state, 'running')
  assert.equal(second.attempt, 2)
  spawner.children[1].ended.open({ outcome: 'timeout' })
  await spawner.children[1].finished
  assert.equal((await running(key)).state, 'failed', 'a timeout fails the task too')
  await guard.approveRetry(key)
})

test('killed, reset or deleted children are cancelled: the key is free, nothing to approve', async () => {
  const spawner = spawnTool(gw, { sessionKey })
  const key = `${sessionKey}::cleanup`
  for (const outcome of ['killed', 'reset', 'deleted']) {
    assert.equal((await spawner.call({ task: 'c', taskName: 'cleanup' })).details.status, 'accepted')
    spawner.children.at(-1).ended.open({ outcome })
    await spawner.children.at(-1).finished
    assert.equal(await running(key), undefined, outcome)
  }
})

test('a spawn OpenClaw does not accept frees its key', async () => {
  const refused = spawnTool(gw, { sessionKey, answer: 'forbidden' })
  const key = `${sessionKey}::lookup`
  assert.equal((await refused.call({ task: 'l', taskName: 'lookup' })).details.status, 'forbidden')
  assert.equal(await running(key), undefined)
  const spawner = spawnTool(gw, { sessionKey })
  assert.equal((await spawner.call({ task: 'l', taskName: 'lookup' })).details.status, 'accepted')
  spawner.children[0].ended.open({ outcome: 'ok' })
  await spawner.children[0].finished
})

test('/taskguard lists running and failed guards the way inspect does', async () => {
  const spawner = spawnTool(gw, { sessionKey })
  await spawner.call({ task: 'a', taskName: 'alpha' })
  await spawner.call({ task: 'b', taskName: 'beta' })
  spawner.children[1].ended.open({ outcome: 'error', error: 'boom' })
  await spawner.children[1].finished
  const sender = (more) => ({ args: '', channel: 'telegram', isAuthorizedSender: true, commandBody: '/taskguard', config: {}, ...more })
  // Another sender of the channel, in its own session, sees none of them and may approve none.
  const other = 'agent:main:telegram:direct:999'
  const theirs = (await gw.command.handler(sender({ senderId: '999', sessionKey: other }))).text
  assert.match(theirs, /^task-guard: 0 running, 0 stale, 0 failed, 0 approved/)
  assert.doesNotMatch(theirs, /alpha|beta/)
  const refused = (await gw.command.handler(sender({ senderId: '999', sessionKey: other, args: `approve ${sessionKey}::beta` }))).text
  assert.match(refused, /ERR_TASK_GUARD_NOT_PERMITTED/)
  assert.equal((await guard.inspect({ prefix: `${sessionKey}::beta` })).guards[0].state, 'failed', 'a refused approve changes nothing')
  // The session's own sender sees its guards; an owner (commands.ownerAllowFrom) sees every session's.
  const own = (await gw.command.handler(sender({ senderId: '123456', sessionKey }))).text
  assert.match(own, new RegExp(`failed +${sessionKey}::beta`))
  const { text } = await gw.command.handler(sender({ senderId: 'ops', senderIsOwner: true }))
  assert.match(text, /^task-guard: 1 running, 0 stale, 1 failed, 1 approved/)
  assert.match(text, new RegExp(`running +${sessionKey}::alpha`))
  assert.match(text, new RegExp(`failed +${sessionKey}::beta .*boom → /taskguard approve ${sessionKey}::beta`))
  spawner.children[0].ended.open({ outcome: 'ok' })
  await spawner.children[0].finished
  await guard.approveRetry(`${sessionKey}::beta`)
})
