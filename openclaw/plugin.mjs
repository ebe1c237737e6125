// The OpenClaw plugin entry: wires the guards to OpenClaw's typed hooks. Enable it
// with `openclaw plugins install task-guard` (see README, "Using with OpenClaw").

import { mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import path from 'node:path'
import { buildJsonPluginConfigSchema, definePluginEntry } from 'openclaw/plugin-sdk/plugin-entry'
import { resolveStateDir } from 'openclaw/plugin-sdk/state-paths'
import { TaskGuard } from '../index.mjs'
import { configJsonSchema, resolveConfig } from './config.mjs'
import { taskGuardCommand } from './diagnostics.mjs'
import { createDispatchGuard } from './dispatch-guard.mjs'
import { HeldRuns } from './held-runs.mjs'
import { SPAWN_TOOL, createSpawnGuard } from './spawn-guard.mjs'
import { createToolGuard } from './tool-guard.mjs'

export const PLUGIN_ID = 'task-guard'

// Below every other policy plugin: a call another plugin blocks never takes a key.
const LAST = -1000

async function openGuard(cfg) {
  if (cfg.store.startsWith('sqlite:')) mkdirSync(path.dirname(cfg.store.slice('sqlite:'.length)), { recursive: true })
  return TaskGuard.open({
    store: cfg.store,
    namespace: cfg.namespace,
    defaultTtlMs: cfg.ttlMs,
    onStale: cfg.onStale,
    owner: `openclaw@${hostname()}:${process.pid}`,
  })
}

/**
 * Registers the guards on `api` (an OpenClawPluginApi) and returns them, for hosts
 * that compose plugins themselves. The store opens on first use, off the JS thread.
 */
export function registerTaskGuard(api, { stateDir = resolveStateDir() } = {}) {
  const cfg = resolveConfig(api.pluginConfig ?? {}, { stateDir })
  const log = api.logger
  let opening = null
  const getGuard = () => {
    opening ??= openGuard(cfg).catch((err) => {
      opening = null // the next hook tries again; until then every guarded call is refused
      throw err
    })
    return opening
  }
  const held = new HeldRuns(getGuard, {
    heartbeatMs: cfg.heartbeatMs,
    onError: (err, run) => log?.warn?.(`task-guard: ${run.key}: ${err.code ?? ''} ${err.message}`),
  })
  const spawn = cfg.spawn.enabled ? createSpawnGuard({ getGuard, held, ttlMs: cfg.ttlMs, acceptTimeoutMs: cfg.spawn.acceptTimeoutMs }) : null
  const tools = cfg.tools.length > 0 ? createToolGuard({ getGuard, held, rules: cfg.tools, ttlMs: cfg.ttlMs }) : null
  const dispatch =
    cfg.dispatch.tasks.length > 0
      ? createDispatchGuard({ getGuard, held, rules: cfg.dispatch.tasks, ttlMs: cfg.ttlMs, maxTurnMs: cfg.dispatch.maxTurnMs })
      : null

  const matcher = [...(spawn ? [SPAWN_TOOL] : []), ...(tools ? tools.tools.filter((t) => t !== SPAWN_TOOL) : [])]
  if (matcher.length > 0) {
    api.on(
      'before_tool_call',
      async (event, ctx) => (await spawn?.beforeToolCall(event, ctx)) ?? (await tools?.beforeToolCall(event, ctx)),
      { matcher, priority: LAST },
    )
    api.on(
      'after_tool_call',
      async (event, ctx) => {
        await spawn?.afterToolCall(event, ctx)
        await tools?.afterToolCall(event, ctx)
      },
      { matcher },
    )
  }
  if (spawn) api.on('subagent_ended', (event) => spawn.subagentEnded(event))
  if (dispatch) {
    api.on('before_dispatch', (event, ctx) => dispatch.beforeDispatch(event, ctx), { priority: LAST })
    api.on('agent_end', (event, ctx) => dispatch.agentEnd(event, ctx))
  }
  api.registerCommand(taskGuardCommand({ getGuard }))
  // Open at start so a bad store shows in the gateway log at once, not at the first spawn.
  api.on('gateway_start', async () => {
    try {
      await getGuard()
    } catch (err) {
      log?.error?.(`task-guard: cannot open ${cfg.store}: ${err.code ?? ''} ${err.message}`)
    }
  })
  api.on('gateway_stop', async () => {
    // Held runs are not released: their work stops with the gateway, and staleness
    // (onStale) decides what the next trigger may do.
    held.stop()
    const pending = opening
    opening = null
    if (pending) await (await pending.catch(() => null))?.close()
  })
  return { config: cfg, getGuard, held, spawn, tools, dispatch }
}

export default definePluginEntry({
  id: PLUGIN_ID,
  name: 'Task Guard',
  description: 'Stops duplicate runs of one logical task: guards sessions_spawn task names, long-running tools and taskful triggers.',
  configSchema: buildJsonPluginConfigSchema(configJsonSchema),
  register(api) {
    registerTaskGuard(api)
  },
})
