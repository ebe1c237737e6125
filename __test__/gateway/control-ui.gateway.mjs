// Who sees and acts on guards, where operators look: /taskguard from two senders of
// one gateway, the agent's task_guards tool, the gateway methods under operator scopes,
// and the "Task guards" page of the Control UI in a real browser (Debian's chromium,
// driven by playwright-core). Everything asserted is read from the gateway (chat
// answers, method answers, the page's DOM) and from the store through the CLI.

import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { gate } from './mock-model.mjs'
import { eventually, resolved, useGateway } from './suite.mjs'

const CHROMIUM = process.env.TASK_GUARD_CHROMIUM ?? '/usr/bin/chromium'
const ctx = useGateway({
  // The page is a native plugin page: OpenClaw loads a user-installed plugin's browser
  // code only with this lab setting (README, "The Task guards page").
  configure: (cfg) => ({ ...cfg, gateway: { ...cfg.gateway, controlUi: { ...cfg.gateway?.controlUi, experimental: { customPlugins: true } } } }),
})
const TEST = { timeout: 180_000 }
const WRITER = ['operator.read', 'operator.write']
const A = 'tg-ui-a'
const B = 'tg-ui-b'
const keyA = `${resolved(A)}::deploy`
const keyB = `${resolved(B)}::deploy`

const isDeploy = (session) => (c) => c.sessionKey === resolved(session) && !c.isSubagent && c.newToolResults.length === 0 && c.lastUserText === '/deploy prod'

/** Sends `text` to `session` as `client` (chat.send) and resolves with the answer's text. */
async function say(client, session, text) {
  const runId = crypto.randomUUID()
  const answer = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${text} in ${session}`)), 60_000)
    const onEvent = (name, payload) => {
      if (name === 'chat' && payload?.runId === runId && ['final', 'error', 'aborted'].includes(payload.state)) {
        clearTimeout(timer)
        client.off('event', onEvent)
        resolve(payload)
      }
    }
    client.on('event', onEvent)
  })
  await client.request('chat.send', { sessionKey: session, message: text, idempotencyKey: runId })
  const final = await answer
  const c = final.message?.content
  return typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => p?.text ?? '').join('') : (final.errorMessage ?? '')
}

/** A failed /deploy in `session` (the model answers 400), as the store shows it. */
async function failDeploy(session, key) {
  const { gw, mock } = ctx
  const mine = isDeploy(session)
  mock.use((c) => (mine(c) ? { status: 400, message: `deploy of ${session} rejected by the mock` } : undefined))
  const sent = await gw.send(session, '/deploy prod')
  await sent.answer
  return eventually(async () => (await gw.guardOf(key))?.state === 'failed' && (await gw.guardOf(key)), { what: `${key} failed in the store` })
}

/** Debian's chromium under playwright-core, closed after `t`; null (the test skipped) where there is none outside CI. */
async function launch(t) {
  if (!existsSync(CHROMIUM)) {
    // CI installs Debian's chromium (.ci/run); a missing browser is a failure there, never a pass.
    if (process.env.CI) assert.fail(`no chromium at ${CHROMIUM}: install it (apt-get install chromium) or set TASK_GUARD_CHROMIUM`)
    t.skip(`no chromium at ${CHROMIUM} (CI fails here)`)
    return null
  }
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.after(() => browser.close())
  return browser
}

describe('who sees and acts on guards', () => {
  test('two senders: /taskguard lists and approves only the sender\'s own session; an owner sees every session', TEST, async (t) => {
    const { gw } = ctx
    await failDeploy(A, keyA)
    await failDeploy(B, keyB)
    const alice = await gw.connectClient({ scopes: WRITER })
    const bob = await gw.connectClient({ scopes: WRITER })
    t.after(() => (alice.close(), bob.close()))

    const bobList = await say(bob, B, '/taskguard')
    assert.match(bobList, new RegExp(`failed +${keyB}`), bobList)
    assert.ok(!bobList.includes(keyA), `bob sees alice's guard: ${bobList}`)
    const forged = await say(bob, B, `/taskguard approve ${keyA}`)
    assert.match(forged, /ERR_TASK_GUARD_NOT_PERMITTED/, forged)
    assert.equal((await gw.guardOf(keyA)).state, 'failed', 'bob could not approve alice\'s task')
    const peek = await say(bob, B, `/taskguard list failed ${resolved(A)}`)
    assert.match(peek, /ERR_TASK_GUARD_NOT_PERMITTED/, peek)

    const aliceList = await say(alice, A, '/taskguard')
    assert.match(aliceList, new RegExp(`failed +${keyA}`), aliceList)
    assert.ok(!aliceList.includes(keyB), aliceList)

    // gw.client asks for operator.admin: the webchat's owner (OpenClaw's senderIsOwner).
    const ownerList = await say(gw.client, 'tg-ui-ops', '/taskguard list failed')
    assert.ok(ownerList.includes(keyA) && ownerList.includes(keyB), ownerList)
  })

  test('the agent tool task_guards answers from its own session\'s guards only', TEST, async () => {
    const { gw, mock } = ctx
    const asks = (c) => c.sessionKey === resolved(A) && c.lastUserText === 'is the deploy still running?'
    mock.use((c) => {
      if (!asks(c)) return undefined
      if (c.newToolResults.length === 0) return { toolCalls: [{ name: 'task_guards', arguments: {} }, { name: 'task_guards', arguments: { session: resolved(B) } }] }
      return { text: 'answered from the guard' }
    })
    const sent = await gw.send(A, 'is the deploy still running?')
    assert.equal((await sent.answer).text, 'answered from the guard')
    const call = await mock.waitFor((c) => asks(c) && c.newToolResults.length === 2, { what: 'the model call with both tool results' })
    const [own, other] = call.newToolResults
    assert.equal(own.name, 'task_guards')
    const listed = JSON.parse(own.text)
    assert.deepEqual(listed.guards.map((g) => [g.key, g.state, g.attempt]), [[keyA, 'failed', 1]], own.text)
    assert.match(listed.guards[0].error, /rejected by the mock/)
    assert.match(other.text, /ERR_TASK_GUARD_NOT_PERMITTED|another session/, other.text)
    assert.ok(!other.text.includes(keyB), other.text)
  })

  test('gateway methods: reads need operator.read, writes operator.write; bad input is refused with a stable code', TEST, async (t) => {
    const { gw } = ctx
    const reader = await gw.connectClient({ scopes: ['operator.read'] })
    t.after(() => reader.close())
    const page = await reader.request('taskguard.guards.list', { state: 'failed' })
    assert.ok(page.guards.some((g) => g.key === keyA), JSON.stringify(page))
    await assert.rejects(reader.request('taskguard.guards.approve', { key: keyA }), (err) => /operator\.write/.test(JSON.stringify(err.gatewayError)))
    await assert.rejects(
      reader.request('plugins.sessionAction', { pluginId: 'task-guard', actionId: 'approve', payload: { key: keyA } }),
      (err) => /operator\.write/.test(JSON.stringify(err.gatewayError)),
    )
    assert.equal((await gw.guardOf(keyA)).state, 'failed', 'a forged write changed nothing')
    for (const [params, code] of [
      [{ state: 'sleeping' }, 'ERR_TASK_GUARD_INVALID_ARG'],
      [{ after: 'not-a-cursor' }, 'ERR_TASK_GUARD_INVALID_ARG'],
      [{ limit: 'ten' }, 'ERR_TASK_GUARD_INVALID_ARG'],
    ]) {
      await assert.rejects(reader.request('taskguard.guards.list', params), (err) => err.gatewayError?.details?.code === code, JSON.stringify(params))
    }
    await assert.rejects(gw.request('taskguard.guards.approve', {}), (err) => err.gatewayError?.details?.code === 'ERR_TASK_GUARD_INVALID_ARG')
    await assert.rejects(gw.request('taskguard.guards.forceRelease', { key: 42 }), (err) => err.gatewayError?.details?.code === 'ERR_TASK_GUARD_INVALID_ARG')
    assert.equal((await gw.guardOf(keyA)).state, 'failed')
  })

  test('the Task guards page: lists the failed guard, Approve (confirmed) lets /deploy run as attempt 2, which appears without a reload', TEST, async (t) => {
    const { gw, mock } = ctx
    const browser = await launch(t)
    if (!browser) return
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } })
    await page.goto(`http://127.0.0.1:${gw.port}/#token=${gw.token}`)
    await page.getByRole('link', { name: 'Task guards' }).first().click({ timeout: 60_000 })
    const row = (key) => page.locator(`tr[data-key="${key}"]`)
    await row(keyA).and(page.locator('[data-state="failed"]')).waitFor({ timeout: 30_000 })
    assert.match(await row(keyA).locator('[data-col="detail"]').innerText(), /rejected by the mock/)

    if (process.env.TASK_GUARD_SCREENSHOT) {
      mkdirSync(path.dirname(process.env.TASK_GUARD_SCREENSHOT), { recursive: true })
      await page.screenshot({ path: process.env.TASK_GUARD_SCREENSHOT })
    }

    await row(keyA).locator('[data-action="approve"]').click()
    await row(keyA).locator('[data-action="confirm-approve"]').click()
    await row(keyA).and(page.locator('[data-state="approved"]')).waitFor({ timeout: 15_000 })
    const approved = await gw.guardOf(keyA)
    assert.equal(approved.state, 'approved')
    assert.match(approved.approvedBy, /^operator:/, 'the approval records who approved')

    // A run started elsewhere (a chat) shows up on the open page: the plugin's change event.
    // The same events as an operator connection receives them: a change, never a duplicate.
    const changes = []
    const onEvent = (name, payload) => name.includes('task-guard') && changes.push({ name, ...payload })
    gw.client.on('event', onEvent)
    t.after(() => gw.client.off('event', onEvent))
    const held = gate()
    const mine = isDeploy(A)
    mock.use((c) => (mine(c) ? held.promise : undefined))
    t.after(() => held.open({ text: 'DEPLOYED' }))
    const rerun = await gw.send(A, '/deploy prod')
    await row(keyA).and(page.locator('[data-state="running"]')).waitFor({ timeout: 30_000 })
    assert.equal(await row(keyA).locator('[data-col="attempt"]').innerText(), '2')
    // A duplicate changes nothing, so it tells no page: in a storm of duplicate triggers
    // every open page would reload once per duplicate.
    const dupe = await (await gw.send(A, '/deploy prod')).answer
    assert.match(dupe.text, /already running/, dupe.text)
    held.open({ text: 'DEPLOYED' })
    assert.equal((await rerun.answer).text, 'DEPLOYED')
    await row(keyA).waitFor({ state: 'detached', timeout: 30_000 })
    assert.ok(changes.some((c) => c.key === keyA && c.type === 'acquired'), `the acquire was sent: ${JSON.stringify(changes)}`)
    assert.ok(changes.some((c) => c.key === keyA && c.type === 'released'), `the release was sent: ${JSON.stringify(changes)}`)
    assert.deepEqual(changes.filter((c) => c.type === 'conflict'), [], 'no change event for the duplicate')
  })
  test('the Task guards page for an operator without operator.write: no buttons, and a write forged on its connection is refused', TEST, async (t) => {
    const { gw } = ctx
    const browser = await launch(t)
    if (!browser) return
    assert.equal((await gw.guardOf(keyB))?.state, 'failed', "B's failed /deploy, from the first test")
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
    // A read-only operator: the Control UI asks the gateway for operator.read alone, as a
    // native shell hosting it does (window.__OPENCLAW_NATIVE_CONTROL_AUTH__), and the
    // gateway grants the connection the scopes it asked for, no more.
    await context.addInitScript((token) => {
      window.__OPENCLAW_NATIVE_CONTROL_AUTH__ = { token, client: { id: 'openclaw-control-ui', mode: 'webchat', platform: 'linux', deviceFamily: 'desktop', scopes: ['operator.read'] } }
    }, gw.token)
    // The page's own WebSocket, passed through; once the gateway has said hello, a write is
    // forged on it (a frame the page never sends: it shows no button for it).
    const granted = Promise.withResolvers()
    const forged = Promise.withResolvers()
    await context.routeWebSocket(/.*/, (ws) => {
      const server = ws.connectToServer()
      let connectId = null
      ws.onMessage((m) => {
        const frame = JSON.parse(m)
        if (frame.type === 'req' && frame.method === 'connect') connectId = frame.id
        server.send(m)
      })
      server.onMessage((m) => {
        const frame = JSON.parse(m)
        if (frame.type === 'res' && frame.id === 'tg-forged-approve') return forged.resolve(frame)
        ws.send(m)
        if (frame.type === 'res' && frame.id === connectId) {
          granted.resolve(frame)
          if (frame.ok) server.send(JSON.stringify({ type: 'req', id: 'tg-forged-approve', method: 'taskguard.guards.approve', params: { key: keyB } }))
        }
      })
    })
    const page = await context.newPage()
    await page.goto(`http://127.0.0.1:${gw.port}/`)
    const hello = await granted.promise
    assert.ok(hello.ok, JSON.stringify(hello.error))
    assert.deepEqual(hello.payload.auth?.scopes, ['operator.read'], JSON.stringify(hello.payload.auth))

    const refused = await forged.promise
    assert.equal(refused.ok, false, JSON.stringify(refused))
    assert.match(JSON.stringify(refused.error), /operator\.write/)
    assert.equal((await gw.guardOf(keyB)).state, 'failed', 'the forged approve changed nothing')

    await page.getByRole('link', { name: 'Task guards' }).first().click({ timeout: 60_000 })
    const row = page.locator(`tr[data-key="${keyB}"]`).and(page.locator('[data-state="failed"]'))
    await row.waitFor({ timeout: 30_000 })
    await page.getByText('Read-only: your connection has no operator.write.').waitFor()
    assert.equal(await page.locator('[data-action]').count(), 0, 'no Approve or Force-release button anywhere on the page')
  })
  test('the Task guards page shows a run another process starts on the store, then shows it stale when its lease runs out, without a reload', TEST, async (t) => {
    const { gw } = ctx
    const browser = await launch(t)
    if (!browser) return
    const { TaskGuard } = await import('../../index.mjs')
    // Another process's guard on the gateway's store file: this gateway hears of it from no event.
    const other = await TaskGuard.open({ store: `sqlite:${gw.storePath}`, namespace: 'openclaw' })
    t.after(() => other.close())
    const key = `${resolved('tg-ui-c')}::report`
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } })
    await page.goto(`http://127.0.0.1:${gw.port}/#token=${gw.token}`)
    await page.getByRole('link', { name: 'Task guards' }).first().click({ timeout: 60_000 })
    await page.locator('tr[data-key]').first().waitFor({ timeout: 30_000 })
    // The state filter is made once: a render under a user choosing a state must not close it.
    const filter = await page.getByTestId('state-filter').elementHandle()
    // The page looks for other processes' changes every 5 s: the lease outlasts one look.
    const run = await other.acquire(key, { owner: 'another-host', ttlMs: 8_000 })
    assert.equal(run.status, 'acquired')
    const row = page.locator(`tr[data-key="${key}"]`)
    await row.and(page.locator('[data-state="running"]')).waitFor({ timeout: 15_000 })
    await row.and(page.locator('[data-state="stale"]')).waitFor({ timeout: 15_000 })
    assert.match(await row.locator('[data-col="detail"]').innerText(), /lease expired/)
    assert.equal(await filter.evaluate((n) => n.isConnected), true, 'the state filter is still the one the page made')
    await other.forceRelease(key, { by: 'test' })
  })
})
