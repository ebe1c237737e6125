// The plugin as OpenClaw loads it: manifest and schema agree, bad config is refused
// at load, the default store is a SQLite file in the state directory, configured
// long-running tools are guarded, and an unreachable store refuses (fails closed).

import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { configJsonSchema } from '../../openclaw/index.mjs'
import { repoRoot, startGateway, useStateDir } from './gateway.mjs'

function execTool(gw, sessionKey) {
  const runs = []
  const waiters = []
  const raw = {
    name: 'exec',
    label: 'exec',
    description: 'Run a command',
    parameters: { type: 'object', properties: { command: { type: 'string' } } },
    async execute(toolCallId, params) {
      let done
      runs.push({ command: params.command, done: new Promise((r) => (done = r)) })
      runs.at(-1).finish = done
      for (const w of waiters.splice(0)) w()
      await runs.at(-1).done
      return { content: [{ type: 'text', text: 'ok' }], details: { status: 'completed', exitCode: 0 } }
    },
  }
  const tool = gw.oc.wrapToolWithBeforeToolCallHook(raw, { sessionKey, agentId: 'main', runId: 'r' })
  let n = 0
  return {
    runs,
    /** Resolves once `n` calls have started executing. */
    started(n) {
      return runs.length >= n ? Promise.resolve() : new Promise((r) => waiters.push(r)).then(() => this.started(n))
    },
    async call(params) {
      const toolCallId = `exec-${++n}`
      const result = await tool.execute(toolCallId, params)
      await gw.oc.runAgentHarnessAfterToolCallHook({ toolName: 'exec', toolCallId, runId: 'r', agentId: 'main', sessionKey, startArgs: params, result, startedAt: Date.now() })
      return result
    },
  }
}

test('the manifest carries the config schema the entry validates with', () => {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'openclaw.plugin.json'), 'utf8'))
  assert.equal(manifest.id, 'task-guard')
  assert.deepEqual(manifest.configSchema, configJsonSchema)
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
  assert.deepEqual(pkg.openclaw.extensions, ['./openclaw/plugin.mjs'])
})

test('unknown settings and bad values are refused when OpenClaw loads the plugin', async () => {
  useStateDir()
  for (const config of [{ bogus: 1 }, { onStale: 'maybe' }, { ttlMs: -5 }]) {
    await assert.rejects(startGateway(config), /task-guard did not load/, JSON.stringify(config))
  }
  // OpenClaw's validator treats `format: "regex"` as an annotation; registration refuses it, naming the setting.
  await assert.rejects(
    startGateway({ dispatch: { tasks: [{ match: '(', task: 'x' }] } }),
    /task-guard did not load: error .*plugins\.entries\.task-guard\.config\): dispatch\.tasks\[0\]\.match is not a regular expression/,
  )
})

test('default store: a SQLite file in the OpenClaw state directory; a configured exec is guarded per command', async () => {
  const stateDir = useStateDir()
  const gw = await startGateway({ tools: [{ tool: 'exec', keyParam: 'command' }] })
  const dbFile = path.join(stateDir, 'task-guard', 'guards.db')
  assert.ok(existsSync(dbFile), dbFile)
  const sessionKey = 'agent:main:discord:channel:9'
  const exec = execTool(gw, sessionKey)
  const first = exec.call({ command: 'npm run poll-build' })
  await exec.started(1)
  const dup = await exec.call({ command: 'npm run poll-build' })
  assert.equal(dup.details.status, 'blocked')
  assert.match(dup.details.reason, /exec for "command" = "npm run poll-build" is already running: run /)
  const other = exec.call({ command: 'ls' })
  await exec.started(2)
  exec.runs[0].finish()
  exec.runs[1].finish()
  await Promise.all([first, other])
  const again = exec.call({ command: 'npm run poll-build' })
  await exec.started(3)
  assert.equal(exec.runs[2].command, 'npm run poll-build', 'freed when the call ended')
  exec.runs[2].finish()
  await again
  await gw.hooks.runGatewayStop({ reason: 'test' }, {})
})

test('a store that cannot be opened blocks guarded spawns instead of letting them run', async () => {
  const stateDir = useStateDir()
  mkdirSync(path.join(stateDir, 'bad'))
  const corrupt = path.join(stateDir, 'bad', 'guards.db')
  writeFileSync(corrupt, 'this is not a database, and must not be overwritten'.repeat(100))
  const gw = await startGateway({ store: `sqlite:${corrupt}` })
  const tool = gw.oc.wrapToolWithBeforeToolCallHook(
    { name: 'sessions_spawn', label: 'sessions_spawn', description: '', parameters: { type: 'object' }, execute: async () => assert.fail('must not run') },
    { sessionKey: 'agent:main:x', agentId: 'main', runId: 'r' },
  )
  const res = await tool.execute('c1', { task: 't', taskName: 'deploy' })
  assert.equal(res.details.status, 'blocked')
  assert.match(res.details.reason, /Task "deploy" was not started: the task guard could not be consulted \(ERR_TASK_GUARD_STORE_CORRUPT/)
  assert.match(readFileSync(corrupt, 'utf8'), /^this is not a database/)
  await gw.hooks.runGatewayStop({ reason: 'test' }, {})
})
