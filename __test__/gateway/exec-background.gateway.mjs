// A guarded `exec` whose command outlives the tool call: OpenClaw backgrounds it
// (`background: true`, or after `yieldMs`) and answers `status: "running"` with a
// process session, and the command runs on. The key must stay held until the command
// ends, as OpenClaw records that end; a duplicate is refused naming the process
// session. The commands here run until the test lets them go (a file appears), so
// "while it runs" is a fact, not a guess from time; each is bounded by `timeout`.

import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { PLUGIN_CONFIG, UUID, brief, eventually, resolved, textOfMessage, useGateway } from './suite.mjs'

// Heartbeats far apart: a command's end must be seen when OpenClaw reports it, not at the next round.
const ctx = useGateway({ pluginConfig: { ...PLUGIN_CONFIG, heartbeatMs: 120_000 } })
const TEST = { timeout: 120_000 }

const turnCall = (session, text) => (c) =>
  c.sessionKey === resolved(session) && !c.isSubagent && c.newToolResults.length === 0 && c.lastUserText === text
const toolResults = (history, toolName) => history.filter((m) => m.role === 'toolResult' && m.toolName === toolName)
const lines = (file) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [])

/** A command that logs its start, runs until `gate` exists (at most 60 s), logs its end and exits `code`. */
function gatedCommand(dir, name, code = 0) {
  const log = path.join(dir, `${name}.log`)
  const gate = path.join(dir, `${name}.go`)
  const command = `echo start >> ${log}; timeout 60 sh -c 'until [ -e ${gate} ]; do sleep 0.1; done'; echo end >> ${log}; exit ${code}`
  return { command, log, gate, release: () => writeFileSync(gate, '') }
}

async function guardsWithPrefix(prefix) {
  return (await ctx.gw.inspect()).guards.filter((g) => g.key.startsWith(prefix))
}

describe('exec in the background holds its key for the life of the command', () => {
  test('a backgrounded command: one process for two requests; after it exits the next request runs it; process kill frees it', TEST, async (t) => {
    const { gw, mock } = ctx
    const session = 'tg-bg'
    const prefix = `${resolved(session)}::tool:exec:`
    const cmd = gatedCommand(gw.dir, 'bg')
    t.after(cmd.release)
    let killSession = null
    mock.use((c) => {
      if (c.sessionKey !== resolved(session) || c.isSubagent) return undefined
      if (c.newToolResults.length > 0) return { text: `SEEN: ${c.newToolResults[0].text.slice(0, 400)}` }
      if (['build', 'build again', 'build once more'].includes(c.lastUserText)) {
        return { toolCalls: [{ name: 'exec', arguments: { command: cmd.command, background: true } }] }
      }
      if (c.lastUserText === 'stop the build') return { toolCalls: [{ name: 'process', arguments: { action: 'kill', sessionId: killSession } }] }
      return undefined
    })
    const lastExec = async () => toolResults(await gw.history(session), 'exec').at(-1)

    // 1. The command goes to the background; the tool call returns, the key stays held.
    const first = await (await gw.send(session, 'build')).answer
    assert.match(first.text, /^SEEN: .*still running \(session (\S+),/s, JSON.stringify(first))
    const bgSession = /still running \(session ([^,\s]+)/.exec(first.text)[1]
    await eventually(() => lines(cmd.log).length === 1, { what: 'the command to start' })
    const [held] = await guardsWithPrefix(prefix)
    assert.equal(held?.state, 'running', `the key is held after exec returned: ${brief(await gw.inspect()).join('; ')}`)

    // 2. The same command again while it runs: refused before it starts, naming the run and the process session.
    await (await gw.send(session, 'build again')).answer
    const refused = await lastExec()
    assert.equal(refused.isError, true, textOfMessage(refused))
    assert.match(textOfMessage(refused), new RegExp(`already running: run ${held.runId}`))
    assert.ok(textOfMessage(refused).includes(`process session ${bgSession}`), textOfMessage(refused))
    assert.deepEqual(lines(cmd.log), ['start'], 'one process')

    // 3. It exits 0: OpenClaw records the end; the key is freed (succeeded), and the next request runs it.
    cmd.release()
    const releasedAt = Date.now()
    await eventually(async () => (await guardsWithPrefix(prefix)).length === 0, {
      what: async () => `the key to be freed after the command exited; store: ${brief(await gw.inspect()).join('; ')}`,
      timeoutMs: 20_000,
    })
    assert.deepEqual(lines(cmd.log), ['start', 'end'])
    t.diagnostic(`key freed ${Date.now() - releasedAt} ms after the command was let go`)
    // Let the next run wait on a gate of its own.
    const next = gatedCommand(gw.dir, 'bg2')
    t.after(next.release)
    cmd.command = next.command
    const third = await (await gw.send(session, 'build once more')).answer
    assert.match(third.text, /still running \(session/, JSON.stringify(third))
    killSession = /still running \(session ([^,\s]+)/.exec(third.text)[1]
    await eventually(() => lines(next.log).length === 1, { what: 'the second command to start' })
    const [again] = await guardsWithPrefix(prefix)
    assert.equal(again?.state, 'running')
    assert.notEqual(again.runId, held.runId)

    // 4. `process kill` stops it: the key is freed (cancelled), nothing to approve.
    await (await gw.send(session, 'stop the build')).answer
    await eventually(async () => (await guardsWithPrefix(prefix)).length === 0, {
      what: async () => `the key to be freed after process kill; store: ${brief(await gw.inspect()).join('; ')}`,
      timeoutMs: 20_000,
    })
    assert.deepEqual(lines(next.log), ['start'], 'killed before it ended')
  })

  test('a command that backgrounds (yieldMs) and exits non-zero blocks the key until approved (onError: block)', TEST, async (t) => {
    const { gw, mock } = ctx
    const session = 'tg-bgfail'
    const prefix = `${resolved(session)}::tool:exec:`
    const cmd = gatedCommand(gw.dir, 'bgfail', 3)
    t.after(cmd.release)
    mock.use((c) => {
      if (c.sessionKey !== resolved(session) || c.isSubagent) return undefined
      if (c.newToolResults.length > 0) return { text: `SEEN: ${c.newToolResults[0].text.slice(0, 400)}` }
      if (c.lastUserText === 'migrate') return { toolCalls: [{ name: 'exec', arguments: { command: cmd.command, yieldMs: 300 } }] }
      return undefined
    })
    const first = await (await gw.send(session, 'migrate')).answer
    assert.match(first.text, /still running/, JSON.stringify(first))
    cmd.release()
    const failed = await eventually(async () => (await guardsWithPrefix(prefix)).find((g) => g.state === 'failed'), {
      what: async () => `the key to fail after exit 3; store: ${brief(await gw.inspect()).join('; ')}`,
      timeoutMs: 20_000,
    })
    assert.match(failed.error ?? '', /exit code 3|failed/i, failed.error)

    const blocked = await (await gw.send(session, 'migrate')).answer
    assert.match(blocked.text, /needs approval/, JSON.stringify(blocked))
    assert.deepEqual(lines(cmd.log), ['start', 'end'], 'the blocked request started nothing')

    const approved = await (await gw.send(session, `/taskguard approve ${failed.key}`)).answer
    assert.match(approved.text, /Approved: .* \(attempt 2\)/, approved.text)
    // Its gate is open now, so the approved run ends within the call (exit 3 again): it ran, as attempt 2.
    const rerun = await (await gw.send(session, 'migrate')).answer
    assert.match(rerun.text, /exited with code 3/, JSON.stringify(rerun))
    assert.deepEqual(lines(cmd.log), ['start', 'end', 'start', 'end'])
    const [run2] = await guardsWithPrefix(prefix)
    assert.deepEqual([run2.state, run2.attempt], ['failed', 2])
    assert.match(run2.runId, UUID)
    assert.notEqual(run2.runId, failed.runId)
  })
})
