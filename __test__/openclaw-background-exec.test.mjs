// The tool guard's ends: a call that finishes releases by outcome (a non-zero exit is
// a failure); an exec that goes to the background keeps its key until OpenClaw's task
// registry records the command's end, and a duplicate is told the process session to
// poll. The registry here is a table with OpenClaw's shape; the running-gateway suite
// proves the same against OpenClaw's own.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { TaskGuard } from '../index.mjs'
import { HeldRuns, backgroundEnd, createSpawnGuard, createToolGuard, toolCallEnd } from '../openclaw/index.mjs'

const S = 'agent:main:main'
const CMD = 'sleep 30; make deploy'
const KEY = `${S}::tool:exec:${CMD}`

function registry() {
  const tasks = new Map()
  return {
    tasks,
    api: { async: { runs: { bindSession: ({ sessionKey }) => ({ resolve: async (token) => tasks.get(`${sessionKey} ${token}`) }) } } },
    set: (sessionId, status, extra = {}) => tasks.set(`${S} exec:${sessionId}`, { status, ...extra }),
  }
}

function setup(rule = { tool: 'exec', keyParam: 'command', onError: 'block' }) {
  const guard = new TaskGuard()
  const held = new HeldRuns(() => guard, { heartbeatMs: 60_000 })
  const reg = registry()
  const tools = createToolGuard({ getGuard: () => guard, held, rules: [rule], ttlMs: 60_000, getTasks: () => reg.api })
  return { guard, held, reg, tools }
}

const call = (id, params = { command: CMD }) => ({ toolName: 'exec', toolCallId: id, params })
const running = (sessionId, pid = null) => ({ details: { status: 'running', sessionId, pid } })
const stateOf = async (guard) => (await guard.inspect({ prefix: KEY })).guards[0]?.state ?? 'free'

test('a backgrounded exec holds its key until the task registry records the end; the duplicate is told the session', async () => {
  const { guard, held, reg, tools } = setup()
  assert.equal(await tools.beforeToolCall(call('c1'), { sessionKey: S }), undefined)
  await tools.afterToolCall({ ...call('c1'), result: running('bg-1') }, { sessionKey: S })
  reg.set('bg-1', 'running')
  assert.equal(await stateOf(guard), 'running', 'held past the tool call')

  const dup = await tools.beforeToolCall(call('c2'), { sessionKey: S })
  assert.equal(dup.block, true)
  assert.match(dup.blockReason, /already running: run [0-9a-f-]{36}/)
  assert.match(dup.blockReason, /in the background as process session bg-1: check on it with the process tool/)

  await tools.commandEnded(S)
  assert.equal(await stateOf(guard), 'running', 'still running: nothing released')
  reg.set('bg-1', 'succeeded')
  await tools.commandEnded('agent:main:other')
  assert.equal(await stateOf(guard), 'running', "another session's command is not this one")
  await tools.commandEnded(S)
  assert.equal(await stateOf(guard), 'free')
  assert.equal(held.size, 0)
  await guard.close()
})

test('a background command that fails blocks the key (onError block); one stopped by process kill frees it', async () => {
  const { guard, held, reg, tools } = setup()
  await tools.beforeToolCall(call('c1'), { sessionKey: S })
  await tools.afterToolCall({ ...call('c1'), result: running('bg-2') }, { sessionKey: S })
  reg.set('bg-2', 'failed', { error: 'Command failed (exit code 3)' })
  await held.beat() // the heartbeat round asks too
  const blocked = await guard.acquire(KEY)
  assert.equal(blocked.status, 'awaiting_approval')
  assert.equal(blocked.error, 'Command failed (exit code 3)')
  await guard.approveRetry(KEY)

  await tools.beforeToolCall(call('c3'), { sessionKey: S })
  await tools.afterToolCall({ ...call('c3'), result: running('bg-3') }, { sessionKey: S })
  reg.set('bg-3', 'cancelled')
  // The agent's `process kill` (or poll) of that session asks at once.
  await tools.afterToolCall({ toolName: 'process', params: { action: 'kill', sessionId: 'bg-3' }, result: { details: { status: 'completed' } } }, { sessionKey: S })
  assert.equal(await stateOf(guard), 'free')
  held.stop()
  await guard.close()
})

test('a background command with no task record is over when its process is gone', async () => {
  const { guard, held, tools } = setup()
  const child = spawn('sleep', ['30'])
  await tools.beforeToolCall(call('c1'), { sessionKey: S })
  await tools.afterToolCall({ ...call('c1'), result: running('bg-4', child.pid) }, { sessionKey: S })
  await held.beat()
  assert.equal(await stateOf(guard), 'running', 'its process lives')
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
  await held.beat()
  assert.equal(await stateOf(guard), 'free')
  held.stop()
  await guard.close()
})

test('how finished calls and background commands end', () => {
  const block = { tool: 'exec', keyParam: 'command', onError: 'block' }
  const allow = { tool: 'exec', keyParam: 'command', onError: 'allow' }
  const done = (details, error) => ({ toolName: 'exec', params: {}, result: { details }, ...(error ? { error } : {}) })
  assert.deepEqual(toolCallEnd(done({ status: 'completed', exitCode: 0 }), block), { status: 'succeeded' })
  assert.deepEqual(toolCallEnd(done({ status: 'completed', exitCode: 2 }), block), { status: 'failed', error: 'exit code 2' })
  assert.deepEqual(toolCallEnd(done({ status: 'completed', exitCode: 2 }), allow), { status: 'cancelled', error: 'exit code 2' })
  assert.deepEqual(toolCallEnd(done({ status: 'failed', failureKind: 'overall-timeout' }), block), { status: 'failed', error: 'command failed (overall-timeout)' })
  assert.deepEqual(toolCallEnd(done(undefined, 'boom'), block), { status: 'failed', error: 'boom' })
  assert.equal(backgroundEnd({ status: 'running' }, block, 'cancelled'), undefined)
  assert.equal(backgroundEnd({ status: 'queued' }, block, 'cancelled'), undefined)
  assert.deepEqual(backgroundEnd({ status: 'succeeded' }, block, 'cancelled'), { status: 'succeeded' })
  assert.deepEqual(backgroundEnd({ status: 'timed_out', error: 'Command timed out' }, block, 'cancelled'), { status: 'failed', error: 'Command timed out' })
  assert.deepEqual(backgroundEnd({ status: 'lost' }, block, 'failed'), { status: 'failed', error: 'OpenClaw lost track of the command (lost)' })
})

test('subagent_progress (ended) releases the child at once; a later subagent_ended changes nothing', async () => {
  const guard = new TaskGuard()
  const held = new HeldRuns(() => guard, { heartbeatMs: 60_000 })
  const spawnGuard = createSpawnGuard({ getGuard: () => guard, held, ttlMs: 60_000 })
  const params = { task: 'write the report', taskName: 'report' }
  await spawnGuard.beforeToolCall({ toolName: 'sessions_spawn', params }, { sessionKey: S })
  const child = 'agent:main:acp:7f'
  await spawnGuard.afterToolCall({ toolName: 'sessions_spawn', params, result: { details: { status: 'accepted', childSessionKey: child, runId: 'r1' } } }, { sessionKey: S })
  await spawnGuard.subagentProgress({ phase: 'started', childSessionKey: child, runId: 'r1' })
  assert.equal((await guard.inspect({ prefix: `${S}::report` })).guards[0].state, 'running')
  await spawnGuard.subagentProgress({ phase: 'ended', childSessionKey: child, runId: 'r1', outcome: 'error' })
  const blocked = await guard.acquire(`${S}::report`)
  assert.equal(blocked.status, 'awaiting_approval')
  assert.equal(blocked.error, 'child error')
  await spawnGuard.subagentEnded({ targetSessionKey: child, reason: 'subagent-error', outcome: 'error', error: 'late' })
  assert.equal((await guard.acquire(`${S}::report`)).error, 'child error', 'released once')
  await guard.close()
})

test("the end OpenClaw reports for a call the guard blocked does not end the run of the call that started", async () => {
  const { guard, held, tools } = setup()
  assert.equal(await tools.beforeToolCall(call('c1'), { sessionKey: S }), undefined)
  const dup = await tools.beforeToolCall(call('c2'), { sessionKey: S })
  // OpenClaw runs after_tool_call for the blocked call too, its block reason as the error.
  await tools.afterToolCall({ ...call('c2'), error: dup.blockReason }, { sessionKey: S })
  assert.equal(await stateOf(guard), 'running')
  await tools.afterToolCall({ ...call('c1'), result: { details: { status: 'completed', exitCode: 0 } } }, { sessionKey: S })
  assert.equal(await stateOf(guard), 'free')
  assert.equal(held.size, 0)
  await guard.close()
})
