// An OpenClaw host for the suite: the real plugin loader loads task-guard from this
// repository the way `plugins.load.paths` does for an installed plugin, and the real
// hook runner is installed globally, as the gateway does at start.

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export const repoRoot = path.resolve(import.meta.dirname, '../..')

/** Set before OpenClaw's modules load: its state directory is read from the environment. */
export function useStateDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tg-openclaw-'))
  process.env.OPENCLAW_STATE_DIR = dir
  return dir
}

/** The packed plugin run.mjs staged; the suite is run through it. */
function pluginDir() {
  const dir = process.env.TASK_GUARD_PLUGIN_DIR
  if (!dir) throw new Error('run the OpenClaw suite with `npm run test:openclaw` (it stages the plugin)')
  return dir
}

export async function startGateway(pluginConfig = {}) {
  const oc = await import('./openclaw-internals.mjs')
  const registry = await oc.loadPluginRegistryHandle({
    config: {
      plugins: {
        load: { paths: [pluginDir()] },
        allow: ['task-guard'],
        entries: { 'task-guard': { enabled: true, hooks: { allowConversationAccess: true }, config: pluginConfig } },
      },
    },
    workspaceDir: process.env.OPENCLAW_STATE_DIR,
  })
  const record = registry.plugins.find((p) => p.id === 'task-guard')
  if (record?.status !== 'loaded') {
    throw new Error(`task-guard did not load: ${record?.status} ${record?.error ?? ''} ${JSON.stringify(registry.diagnostics)}`)
  }
  oc.initializeGlobalHookRunner(registry)
  const hooks = oc.getAgentHarnessHookRunner()
  // As the gateway's start does (agents.defaults.subagents.maxConcurrent, default 8).
  oc.setCommandLaneConcurrency('subagent', 8)
  await hooks.runGatewayStart({ port: 0 }, {})
  const command = registry.commands?.find((c) => (c.command?.name ?? c.name) === 'taskguard')
  return { oc, registry, record, hooks, command: command?.command ?? command }
}

/** A promise with its resolver: the suite's only way to wait (no sleeps). */
export function gate() {
  let open
  const promise = new Promise((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/**
 * A stand-in for OpenClaw's `sessions_spawn` with its contract: it starts the child
 * in the `subagent` lane of OpenClaw's command queue and answers `accepted` at once;
 * the child ends through the real `subagent_ended` hook. It is wrapped by OpenClaw's
 * own before_tool_call wrapper, and its result goes through OpenClaw's after_tool_call runner.
 */
export function spawnTool(gw, { sessionKey, agentId = 'main', answer = 'accepted' }) {
  const { oc, hooks } = gw
  const children = []
  let seq = 0
  const raw = {
    name: 'sessions_spawn',
    label: 'sessions_spawn',
    description: 'Spawn a sub-agent',
    parameters: { type: 'object', properties: { task: { type: 'string' }, taskName: { type: 'string' } } },
    async execute(toolCallId, params) {
      if (answer !== 'accepted') return { content: [{ type: 'text', text: answer }], details: { status: answer } }
      const n = ++seq
      const childSessionKey = `agent:${agentId}:subagent:${n}`
      const runId = `child-run-${n}`
      const child = { childSessionKey, runId, params, ended: gate(), finished: null }
      child.finished = oc.enqueueCommandInLane('subagent', async () => {
        const { outcome, error } = await child.ended.promise
        await hooks.runSubagentEnded(
          { targetSessionKey: childSessionKey, targetKind: 'subagent', reason: outcome === 'ok' ? 'completed' : outcome, outcome, error, runId, endedAt: Date.now() },
          { runId, childSessionKey, requesterSessionKey: sessionKey },
        )
      })
      children.push(child)
      return { content: [{ type: 'text', text: 'accepted' }], details: { status: 'accepted', childSessionKey, runId, mode: 'run' } }
    },
  }
  const runId = 'parent-run'
  const tool = oc.wrapToolWithBeforeToolCallHook(raw, { sessionKey, agentId, runId })
  let calls = 0
  return {
    children,
    /** One model tool call: OpenClaw's wrapper (before_tool_call), then after_tool_call. */
    async call(params) {
      const toolCallId = `call-${++calls}`
      const startedAt = Date.now()
      const result = await tool.execute(toolCallId, params, undefined, undefined)
      await oc.runAgentHarnessAfterToolCallHook({ toolName: 'sessions_spawn', toolCallId, runId, agentId, sessionKey, startArgs: params, result, startedAt })
      return result
    },
  }
}
