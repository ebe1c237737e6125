// task-guard across a gateway restart while a /deploy turn is in flight (the model
// holds its call): a SIGTERM (OpenClaw drains active work before it exits) and a
// kill -9 (nothing drains). The store is read with `task-guard inspect` after the
// stop, right after the start and until the key settles; a sampler reads it all
// along, so a second grant while the first run is alive would be seen.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { gate } from './mock-model.mjs'
import { brief, eventually, resolved, textOfMessage, useGateway } from './suite.mjs'

const ctx = useGateway()
const TEST = { timeout: 180_000 }

/** Reads the store every `intervalMs` until stopped; the gateway may be down meanwhile (the file is read directly). */
function sampleStore(key, intervalMs = 250) {
  const samples = []
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      try {
        const { guards } = await ctx.gw.inspect()
        samples.push({ at: Date.now(), guards: guards.filter((g) => g.key === key) })
      } catch (err) {
        samples.push({ at: Date.now(), error: err.message })
      }
      await new Promise((r) => setTimeout(r, intervalMs))
    }
  })()
  return {
    samples,
    async stop() {
      stopped = true
      await loop
      return samples
    },
  }
}

/**
 * No double grant: the runs seen running on `key` follow one another (a run never
 * runs again once a later one was seen) with rising fencing tokens; and the model
 * calls for the session never overlap in time.
 */
function assertOneAtATime(samples, calls) {
  const order = []
  for (const s of samples) {
    const running = (s.guards ?? []).filter((g) => g.state === 'running')
    assert.ok(running.length <= 1, `two running runs at ${s.at}: ${JSON.stringify(running)}`)
    const run = running[0]
    if (!run) continue
    const i = order.findIndex((o) => o.runId === run.runId)
    if (i === -1) order.push({ runId: run.runId, fencingToken: run.fencingToken })
    else assert.equal(i, order.length - 1, `run ${run.runId} ran again after a later run: ${JSON.stringify(order)}`)
  }
  for (let i = 1; i < order.length; i++) assert.ok(order[i].fencingToken > order[i - 1].fencingToken, `fencing tokens rise: ${JSON.stringify(order)}`)
  const sorted = [...calls].sort((a, b) => a.at - b.at)
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]
    assert.ok(prev.endedAt !== null && prev.endedAt <= sorted[i].at, `model call #${prev.index} was still open when #${sorted[i].index} began`)
  }
  return order
}

describe('restart while a /deploy run is held', () => {
  /** Starts a held /deploy turn on `session`; returns what the test needs to go on. */
  async function heldDeploy(t, session) {
    const { gw, mock } = ctx
    if (!gw.proc) await gw.start() // an earlier test failed while the gateway was down
    const sk = resolved(session)
    const key = `${sk}::deploy`
    const held = gate()
    const resumed = gate()
    let deploys = 0
    const mine = (c) => c.sessionKey === sk && !c.isSubagent
    mock.use((c) => {
      if (!mine(c) || c.newToolResults.length > 0) return undefined
      if (c.lastUserText === '/deploy prod') {
        deploys += 1
        return deploys === 1 ? held.promise : { text: `DEPLOYED ${deploys}` }
      }
      // OpenClaw resumes a turn a restart interrupted with a prompt of its own.
      if (/interrupted by a gateway restart/.test(c.lastUserText)) return resumed.promise
      return undefined
    })
    t.after(() => held.open({ text: 'DEPLOYED 1' }))
    t.after(() => resumed.open({ text: 'RESUMED' }))
    const sampler = sampleStore(key)
    t.after(() => sampler.stop())
    const turn = await gw.send(session, '/deploy prod')
    await mock.waitFor((c) => mine(c) && c.lastUserText === '/deploy prod', { what: 'the /deploy model call' })
    const [run] = (await gw.inspect()).guards.filter((g) => g.key === key)
    assert.equal(run?.state, 'running', `the held turn holds ${key}: ${brief(await gw.inspect()).join('; ')}`)
    return { key, held, resumed, run, turn, sampler, mine, deploys: () => deploys }
  }

  /** After the restart: the key settles (not running the old run), then the next /deploy runs. */
  async function settlesAndRunsAgain(t, { session, key, run, sampler, mine, deploys, beforeNext = async () => {} }) {
    const { gw, mock } = ctx
    const afterStart = brief(await gw.inspect())
    t.diagnostic(`store right after the start: ${JSON.stringify(afterStart)}`)
    let settled = []
    await eventually(
      async () => {
        settled = (await gw.inspect()).guards.filter((g) => g.key === key)
        return !settled.some((g) => g.state === 'running' && g.runId === run.runId)
      },
      { what: () => `the old run ${run.runId} to stop running on ${key}; the store has ${JSON.stringify(settled.map((g) => [g.state, g.runId]))}` },
    )
    t.diagnostic(`store once settled: ${JSON.stringify(settled.map((g) => [g.state, g.runId, g.error]))}`)
    for (const g of settled) assert.ok(g.runId === run.runId && g.state === 'stale', `after the restart ${key} is free or shows the old run stale: ${JSON.stringify(g)}`)

    await beforeNext()
    const before = deploys()
    const sentAt = Date.now()
    const next = await gw.send(session, '/deploy prod')
    const answer = await next.answer
    if (answer.text !== `DEPLOYED ${before + 1}`) {
      const events = gw.events
        .filter((e) => e.name !== 'agent' && e.at >= sentAt && e.payload.sessionKey === resolved(session) && !['delta', 'status'].includes(e.payload.state))
        .map((e) => [e.name, e.payload.runId, e.payload.state, e.payload.text ?? textOfMessage(e.payload.message)])
      assert.fail(
        `the next /deploy: ${JSON.stringify(answer)}\nchat events since: ${JSON.stringify(events)}\n` +
          `model calls: ${JSON.stringify(mock.calls.filter(mine).map((c) => [c.index, c.lastUserText.slice(0, 60), c.aborted]))}\n` +
          `transcript: ${JSON.stringify((await gw.history(session)).map((m) => [m.role, textOfMessage(m).slice(0, 60)]))}`,
      )
    }
    assert.equal((await gw.wait(next.runId, 30_000)).status, 'ok')
    await eventually(async () => !(await gw.inspect()).guards.some((g) => g.key === key && g.state === 'running'), {
      what: `${key} to be free after the next /deploy`,
    })
    const order = assertOneAtATime(await sampler.stop(), mock.calls.filter(mine))
    t.diagnostic(`runs seen running, in order: ${JSON.stringify(order.map((o) => o.runId))}`)
    const resumed = mock.calls.filter((c) => mine(c) && /interrupted by a gateway restart/.test(c.lastUserText))
    t.diagnostic(`OpenClaw resumed the interrupted turn by itself: ${resumed.length > 0 ? 'yes' : 'no'}`)
    return { afterStart, settled, resumed }
  }

  test('f) SIGTERM: OpenClaw drains the held turn; its run ends with it; after the start the next /deploy runs', TEST, async (t) => {
    const { gw } = ctx
    const session = 'tg-f-term'
    const h = await heldDeploy(t, session)
    const stopping = gw.stop({ signal: 'SIGTERM', graceMs: 60_000 })
    await gw.waitNotReady()
    const draining = (await gw.inspect()).guards.filter((g) => g.key === h.key)
    t.diagnostic(`store while draining: ${JSON.stringify(draining.map((g) => [g.state, g.runId]))}`)
    assert.deepEqual(draining.map((g) => [g.state, g.runId]), [['running', h.run.runId]], 'the run is alive while its turn drains')
    h.held.open({ text: 'DEPLOYED 1' })
    const stopped = await stopping
    t.diagnostic(`gateway exit after SIGTERM: ${JSON.stringify(stopped)}`)
    assert.equal(stopped.forced, false, 'the gateway exited by itself once the turn drained')
    const afterStop = (await gw.inspect()).guards.filter((g) => g.key === h.key)
    t.diagnostic(`store after the stop: ${JSON.stringify(afterStop.map((g) => [g.state, g.runId, g.error]))}`)
    assert.deepEqual(afterStop, [], 'the drained turn ended its run before the gateway exited')

    await gw.start()
    const history = await gw.history(session)
    assert.deepEqual(
      history.filter((m) => m.role === 'assistant').map(textOfMessage),
      ['DEPLOYED 1'],
      'the drained turn delivered its reply',
    )
    await settlesAndRunsAgain(t, { session, ...h })
  })

  test('f) kill -9: OpenClaw resumes the interrupted turn, which keeps the run; a /deploy meanwhile is a duplicate; then the next runs', TEST, async (t) => {
    const { gw } = ctx
    const session = 'tg-f-kill'
    const h = await heldDeploy(t, session)
    const stopped = await gw.stop({ signal: 'SIGKILL' })
    assert.equal(stopped.signal, 'SIGKILL')
    const afterKill = (await gw.inspect()).guards.filter((g) => g.key === h.key)
    t.diagnostic(`store after kill -9: ${JSON.stringify(afterKill.map((g) => [g.state, g.runId]))}`)
    assert.deepEqual(afterKill.map((g) => [g.state, g.runId]), [['running', h.run.runId]], 'nothing but the killed run is on the key')

    await gw.start()
    // OpenClaw resumes the turn the kill interrupted, with a prompt and a run id of its own;
    // the model holds that call while the store is read and a user sends /deploy again.
    const isResume = (c) => h.mine(c) && /interrupted by a gateway restart/.test(c.lastUserText)
    await ctx.mock.waitFor(isResume, { timeoutMs: 30_000, what: "OpenClaw's resumed turn" })
    const during = (await gw.inspect()).guards.filter((g) => g.key === h.key)
    t.diagnostic(`store while OpenClaw's resumed /deploy turn runs: ${JSON.stringify(during.map((g) => [g.state, g.runId]))}`)
    assert.deepEqual(during.map((g) => [g.state, g.runId]), [['running', h.run.runId]], 'the resumed turn holds the interrupted run')
    const dup = await gw.send(session, '/deploy prod')
    const dupAnswer = await dup.answer
    assert.match(dupAnswer.text, new RegExp(`already running: run ${h.run.runId}`), `a /deploy while OpenClaw resumes the first: ${JSON.stringify(dupAnswer)}`)
    assert.equal(h.deploys(), 1, 'the duplicate never reached the model')
    h.resumed.open({ text: 'RESUMED' })
    await eventually(
      () =>
        gw.events.some(
          (e) => e.name === 'chat' && e.payload.sessionKey === resolved(session) && e.payload.state === 'final' && textOfMessage(e.payload.message) === 'RESUMED',
        ),
      { timeoutMs: 30_000, what: 'the resumed turn to end' },
    )
    const { settled } = await settlesAndRunsAgain(t, { session, ...h })
    assert.deepEqual(settled, [], 'the resumed turn ended the interrupted run')
  })
})
