// task-guard in a real OpenClaw gateway: duplicate /deploy triggers (dispatch guard),
// duplicate sessions_spawn task names (spawn guard) and duplicate exec calls (tool
// guard). One gateway for the file, one session per scenario. Everything asserted is
// read from the gateway (chat events, chat.history, agent.wait), from the mock model's
// record of calls, or from the store through `task-guard inspect` — never from logs.

import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { gate, requested } from './mock-model.mjs'
import { UUID, brief, eventually, firstN, resolved, textOfMessage, useGateway } from './suite.mjs'

const ctx = useGateway()
const TEST = { timeout: 120_000 }

/** The guards of `key` in the store. */
async function guardsOf(key) {
  const inspection = await ctx.gw.inspect()
  return inspection.guards.filter((g) => g.key === key)
}

/** Waits (bounded) until `key` has no running run in the store; returns what it has then. */
async function untilNotRunning(key, { timeoutMs = 15_000 } = {}) {
  let last = []
  await eventually(
    async () => {
      last = await guardsOf(key)
      return !last.some((g) => g.state === 'running')
    },
    { timeoutMs, what: () => `${key} to stop running; the store has ${JSON.stringify(last.map((g) => [g.state, g.runId]))}` },
  )
  return last
}

/** A model turn of `session` for a user message: its first call (not one continuing after tool results). */
const turnCall = (session, text) => (c) =>
  c.sessionKey === resolved(session) && !c.isSubagent && c.newToolResults.length === 0 && c.lastUserText === text

const toolResults = (history, toolName) => history.filter((m) => m.role === 'toolResult' && m.toolName === toolName)

describe('dispatch guard: duplicate /deploy triggers on one session', () => {
  /**
   * Five `/deploy prod` on one session; the model holds the first turn until four
   * duplicate answers are in. `staggered`: one first, the other four once its model call began.
   */
  async function burst(t, { session, staggered }) {
    const { gw, mock } = ctx
    const key = `${resolved(session)}::deploy`
    const isDeploy = turnCall(session, '/deploy prod')
    const held = gate()
    let calls = 0
    mock.use((c) => {
      if (!isDeploy(c)) return undefined
      calls += 1
      return calls === 1 ? held.promise : { text: `DEPLOYED ${calls}` }
    })
    t.after(() => held.open({ text: 'DEPLOYED 1' })) // never leave a turn hanging

    let sends
    if (staggered) {
      const first = await gw.send(session, '/deploy prod')
      await mock.waitFor(isDeploy, { what: 'the first /deploy model call' })
      sends = [first, ...(await Promise.all([1, 2, 3, 4].map(() => gw.send(session, '/deploy prod'))))]
    } else {
      sends = await Promise.all([1, 2, 3, 4, 5].map(() => gw.send(session, '/deploy prod')))
    }

    const dupes = await firstN(
      sends.map((s) => s.answer),
      4,
      { timeoutMs: 30_000, what: 'answers to 4 of the 5 /deploy messages while the first is held' },
    )
    const firstIndex = sends.findIndex((_, i) => !dupes.some((d) => d.index === i))
    if (staggered) assert.equal(firstIndex, 0, 'the message sent first is the one that runs')
    for (const { value } of dupes) {
      assert.equal(value.errored, false, `a duplicate's turn errored: ${JSON.stringify(value.final)}`)
      assert.match(value.text, /already running/, `a duplicate's answer: ${value.text}`)
    }
    const named = dupes.map(({ value }) => UUID.exec(value.text)?.[0])
    assert.ok(named[0], `the answer names the running run: ${dupes[0].value.text}`)
    assert.deepEqual(new Set(named), new Set([named[0]]), 'every duplicate names the same run')

    const store = await guardsOf(key)
    assert.deepEqual(
      store.map((g) => [g.state, g.runId]),
      [['running', named[0]]],
      `the store holds the run the answers name (${brief(await gw.inspect()).join('; ')})`,
    )

    await mock.waitFor(isDeploy, { what: 'the /deploy model call' })
    held.open({ text: 'DEPLOYED 1' })
    const first = await sends[firstIndex].answer
    assert.equal(first.errored, false, `the first turn errored: ${JSON.stringify(first.final)}`)
    assert.equal(first.text, 'DEPLOYED 1')
    const waited = await gw.wait(sends[firstIndex].runId, 30_000)
    assert.equal(waited.status, 'ok', `agent.wait: ${JSON.stringify(waited)}`)
    assert.equal(mock.calls.filter(isDeploy).length, 1, 'the model was asked once for /deploy')

    const history = await gw.history(session)
    const users = history.filter((m) => m.role === 'user').map(textOfMessage)
    assert.deepEqual(users, ['/deploy prod'], 'the transcript holds the /deploy message once')
    const replies = history.filter((m) => m.role === 'assistant')
    assert.deepEqual(
      replies.map((m) => [textOfMessage(m), m.stopReason]),
      [['DEPLOYED 1', 'stop']],
      'the transcript holds the reply of the turn that ran, intact',
    )

    await untilNotRunning(key)

    const next = await gw.send(session, '/deploy prod')
    const again = await next.answer
    assert.equal(again.text, 'DEPLOYED 2', `the next /deploy: ${JSON.stringify(again)}`)
    assert.equal((await gw.wait(next.runId, 30_000)).status, 'ok')
    assert.equal(mock.calls.filter(isDeploy).length, 2, 'the next /deploy reached the model')
    await untilNotRunning(key)
  }

  test('a) five at once: one turn runs, four are answered "already running" naming its run', TEST, (t) =>
    burst(t, { session: 'tg-a', staggered: false }))

  test('b) one, then four more while its model call is in flight', TEST, (t) => burst(t, { session: 'tg-b', staggered: true }))

  test('c) a failed /deploy turn blocks the task until /taskguard approve; the retry is attempt 2', TEST, async (t) => {
    const { gw, mock } = ctx
    const session = 'tg-c'
    const key = `${resolved(session)}::deploy`
    const isDeploy = turnCall(session, '/deploy prod')
    const retry = gate()
    let calls = 0
    mock.use((c) => {
      if (!isDeploy(c)) return undefined
      calls += 1
      // A 400 fails the run at once; a 500 or a cut stream makes OpenClaw retry the turn.
      if (calls === 1) return { status: 400, message: 'deploy rejected by the mock' }
      if (calls === 2) return retry.promise
      return { text: `DEPLOYED ${calls}` }
    })
    t.after(() => retry.open({ text: 'DEPLOYED 2' }))

    const failing = await gw.send(session, '/deploy prod')
    const failed = await failing.answer
    assert.equal(failed.errored, true, `the failing turn's chat event: ${JSON.stringify(failed.final)}`)
    const waited = await gw.wait(failing.runId, 30_000)
    assert.equal(waited.status, 'error', `agent.wait: ${JSON.stringify(waited)}`)
    const recorded = await eventually(async () => (await guardsOf(key)).find((g) => g.state === 'failed'), {
      what: `${key} failed in the store`,
    })
    assert.equal(recorded.attempt, 1)

    const blocked = await (await gw.send(session, '/deploy prod')).answer
    assert.match(blocked.text, /needs approval/, blocked.text)
    assert.ok(blocked.text.includes('/taskguard approve'), blocked.text)
    assert.equal(mock.calls.filter(isDeploy).length, 1, 'the blocked /deploy did not reach the model')

    const approved = await (await gw.send(session, '/taskguard approve deploy')).answer
    assert.match(approved.text, /Approved/, approved.text)
    assert.deepEqual((await guardsOf(key)).map((g) => g.state), ['approved'])

    const rerun = await gw.send(session, '/deploy prod')
    const second = await mock.waitFor((c) => isDeploy(c) && mock.calls.filter(isDeploy).indexOf(c) === 1, {
      what: 'the approved /deploy model call',
    })
    assert.ok(second)
    assert.deepEqual(
      (await guardsOf(key)).map((g) => [g.state, g.attempt]),
      [['running', 2]],
      'the approved run is attempt 2',
    )
    retry.open({ text: 'DEPLOYED 2' })
    const done = await rerun.answer
    assert.equal(done.text, 'DEPLOYED 2')
    assert.equal((await gw.wait(rerun.runId, 30_000)).status, 'ok')
    assert.deepEqual(await untilNotRunning(key), [], 'the key is free after the retry succeeded')
  })
})

describe('spawn guard: sessions_spawn with one taskName', () => {
  test('d) two spawns in one response start one child; the other is blocked naming its run; the key frees when it ends', TEST, async (t) => {
    const { gw, mock } = ctx
    const session = 'tg-d'
    const key = `${resolved(session)}::report`
    const isParent = (c) => c.sessionKey === resolved(session) && !c.isSubagent
    const isChild = (c) => c.isSubagent && c.allText.includes('TGD-REPORT')
    const child = gate()
    mock.use((c) => {
      if (isChild(c)) return child.promise
      if (isParent(c) && c.newToolResults.length === 0 && c.lastUserText === 'spawn the reports') {
        return {
          toolCalls: [1, 2].map((i) => ({
            name: 'sessions_spawn',
            arguments: { task: `TGD-REPORT ${i}: write the weekly report`, taskName: 'report', label: `report ${i}` },
          })),
        }
      }
      if (isParent(c) && c.newToolResults.length > 0) return { text: 'SPAWN RESULTS SEEN' }
      return undefined
    })
    t.after(() => child.open({ text: 'REPORT DONE' }))

    const turn = await gw.send(session, 'spawn the reports')
    const answer = await turn.answer
    assert.equal(answer.text, 'SPAWN RESULTS SEEN', JSON.stringify(answer))
    await mock.waitFor(isChild, { what: 'the child model call' })

    const [running] = await guardsOf(key)
    assert.equal(running?.state, 'running', `the key runs while the child does: ${brief(await gw.inspect()).join('; ')}`)
    const results = toolResults(await gw.history(session), 'sessions_spawn')
    assert.equal(results.length, 2, 'both spawn calls have a result')
    const accepted = results.filter((m) => !m.isError)
    const refused = results.filter((m) => m.isError)
    assert.equal(accepted.length, 1, `one spawn accepted: ${results.map(textOfMessage).join(' || ')}`)
    assert.equal(JSON.parse(textOfMessage(accepted[0])).status, 'accepted')
    assert.equal(refused.length, 1)
    assert.match(textOfMessage(refused[0]), /already running/)
    assert.ok(textOfMessage(refused[0]).includes(running.runId), `the refusal names run ${running.runId}: ${textOfMessage(refused[0])}`)

    child.open({ text: 'REPORT DONE' })
    assert.deepEqual(await untilNotRunning(key), [], 'the key is free once the child ended')
    assert.equal(mock.calls.filter(isChild).length, 1, 'exactly one child ran')
  })

  test('d) a child whose model call fails leaves its task failed; the next spawn is blocked until approved', TEST, async () => {
    const { gw, mock } = ctx
    const session = 'tg-d2'
    const key = `${resolved(session)}::audit`
    const isParent = (c) => c.sessionKey === resolved(session) && !c.isSubagent
    const isChild = (c) => c.isSubagent && c.allText.includes('TGD-AUDIT')
    // OpenClaw announces the failed child's end with a turn of its own in the parent, when it
    // chooses. Meeting "spawn audit N", that turn may fold the message into a prompt of its own
    // or leave it unanswered before the announcement (see `requested`), so the model answers
    // the request wherever the input holds it, as a model reading all of it would.
    const spawnAsked = (c) => (isParent(c) ? requested(c, /^spawn audit (\d)$/) : null)
    const asked = []
    let childCalls = 0
    mock.use((c) => {
      if (isChild(c)) {
        childCalls += 1
        return childCalls === 1 ? { status: 400, message: 'child rejected by the mock' } : { text: 'AUDIT DONE' }
      }
      const spawn = spawnAsked(c)
      if (spawn) {
        asked.push(Number(spawn[1]))
        // Not the user's words: OpenClaw's announcement quotes the task, and must not read as a request.
        return { toolCalls: [{ name: 'sessions_spawn', arguments: { task: `TGD-AUDIT ${spawn[1]}: audit the logs`, taskName: 'audit' } }] }
      }
      if (isParent(c) && c.newToolResults.length > 0) return { text: `SPAWN RESULT: ${c.newToolResults[0].text.slice(0, 300)}` }
      return undefined
    })
    // The spawn result of a message, read from the transcript: when OpenClaw's turn takes the
    // message in, the message's chat.send answer is empty.
    const spawnResults = async () => toolResults(await gw.history(session), 'sessions_spawn')
    const spawnAndResult = async (text) => {
      const before = (await spawnResults()).length
      await (await gw.send(session, text)).answer
      return eventually(async () => (await spawnResults())[before], {
        what: () => `the sessions_spawn result of "${text}"; the parent's model calls: ${parentCalls()}`,
        timeoutMs: 30_000,
      })
    }
    const parentCalls = () =>
      JSON.stringify(mock.calls.filter(isParent).map((c) => ({ new: c.newUserTexts.map((u) => u.slice(-80)), results: c.newToolResults.length })))

    assert.equal((await spawnAndResult('spawn audit 1')).isError, false, 'the first spawn is accepted')
    await mock.waitFor(isChild, { what: 'the child model call' })
    const failed = await eventually(async () => (await guardsOf(key)).find((g) => g.state === 'failed'), {
      what: `${key} failed in the store after its child failed`,
    })
    assert.ok(failed.error, 'the failure keeps why')

    const blocked = await spawnAndResult('spawn audit 2')
    assert.equal(blocked.isError, true, `the spawn after the failure: ${textOfMessage(blocked)}`)
    assert.match(textOfMessage(blocked), /needs approval/)

    const approved = await (await gw.send(session, '/taskguard approve audit')).answer
    // Empty when queued behind OpenClaw's own turn (see above); the store shows it either way.
    if (approved.text !== '') assert.match(approved.text, /Approved: agent:main:tg-d2::audit may run again \(attempt 2\)/, approved.text)
    await eventually(async () => (await guardsOf(key)).some((g) => g.state === 'approved'), { what: `${key} approved`, timeoutMs: 30_000 })

    const third = await spawnAndResult('spawn audit 3')
    assert.equal(third.isError, false, `the spawn after approval is accepted: ${textOfMessage(third)}; store: ${brief(await gw.inspect()).join('; ')}`)
    await eventually(() => childCalls === 2, { what: 'the approved child to call the model' })
    assert.deepEqual(await untilNotRunning(key), [], 'the key is free once the approved child succeeded')
    assert.equal(childCalls, 2, `no child ran for the blocked spawn (spawns the model made, by message: ${asked.join(', ')})`)
  })
})

describe('tool guard: exec with one command', () => {
  test('e) premise: OpenClaw runs the tool calls of one response concurrently', TEST, async () => {
    const { gw, mock } = ctx
    const session = 'tg-e0'
    const file = path.join(gw.dir, 'overlap.txt')
    const cmd = (name) => `echo ${name}-start $(date +%s%N) >> ${file}; sleep 1; echo ${name}-end $(date +%s%N) >> ${file}`
    mock.use((c) => {
      if (turnCall(session, 'two commands')(c)) return { toolCalls: [{ name: 'exec', arguments: { command: cmd('A') } }, { name: 'exec', arguments: { command: cmd('B') } }] }
      if (c.sessionKey === resolved(session) && c.newToolResults.length > 0) return { text: 'BOTH RAN' }
      return undefined
    })
    assert.equal((await (await gw.send(session, 'two commands')).answer).text, 'BOTH RAN')
    const at = Object.fromEntries(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([k, v]) => [k, BigInt(v)]),
    )
    assert.ok(at['A-start'] < at['B-end'] && at['B-start'] < at['A-end'], `the two calls overlapped: ${JSON.stringify(at, (_, v) => String(v))}`)
  })

  test('e) the same command twice in one response runs once; the key is free afterwards', TEST, async () => {
    const { gw, mock } = ctx
    const session = 'tg-e'
    const file = path.join(gw.dir, 'exec-once.txt')
    const command = `echo ran >> ${file}; sleep 2`
    const prefix = `${resolved(session)}::tool:exec:`
    mock.use((c) => {
      if (turnCall(session, 'run it twice')(c)) return { toolCalls: [1, 2].map(() => ({ name: 'exec', arguments: { command } })) }
      if (turnCall(session, 'run it again')(c)) return { toolCalls: [{ name: 'exec', arguments: { command } }] }
      if (c.sessionKey === resolved(session) && c.newToolResults.length > 0) return { text: `EXEC RESULTS SEEN (${c.newToolResults.length})` }
      return undefined
    })
    const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').length : 0)

    assert.equal((await (await gw.send(session, 'run it twice')).answer).text, 'EXEC RESULTS SEEN (2)')
    const results = toolResults(await gw.history(session), 'exec')
    assert.deepEqual(results.map((m) => m.isError).sort(), [false, true], `one ran, one was refused: ${results.map(textOfMessage).join(' || ')}`)
    const refusal = textOfMessage(results.find((m) => m.isError))
    assert.match(refusal, /already running/)
    assert.match(refusal, UUID, 'the refusal names the running run')
    assert.equal(lines(), 1, 'the command ran once')

    // The refused duplicate says nothing about how the call that ran ended: it succeeded.
    const left = await eventually(
      async () => {
        const mine = (await ctx.gw.inspect()).guards.filter((g) => g.key.startsWith(prefix))
        return mine.every((g) => g.state !== 'running') ? { mine } : false
      },
      { what: 'the exec key to stop running' },
    )
    assert.deepEqual(
      left.mine.map((g) => [g.state, g.error]),
      [],
      'the exec key is free after the call that ran succeeded',
    )

    assert.equal((await (await gw.send(session, 'run it again')).answer).text, 'EXEC RESULTS SEEN (1)')
    assert.equal(toolResults(await gw.history(session), 'exec').at(-1).isError, false, 'the command runs again')
    assert.equal(lines(), 2)
  })
})
