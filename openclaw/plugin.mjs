// The OpenClaw plugin entry: wires the guards to OpenClaw's typed hooks. Install it
// with `openclaw plugins install task-guard` (see README, "Using with OpenClaw").
// Only this file needs the OpenClaw SDK; the helpers it wires are `task-guard/openclaw`.

import { mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import path from 'node:path'
import { onDiagnosticEvent } from 'openclaw/plugin-sdk/diagnostic-runtime'
import { defineFeatureContract } from 'openclaw/plugin-sdk/feature-contract'
import { defineFeaturePlugin } from 'openclaw/plugin-sdk/feature-plugin'
import { buildJsonPluginConfigSchema, definePluginEntry } from 'openclaw/plugin-sdk/plugin-entry'
import { resolveStateDir } from 'openclaw/plugin-sdk/state-paths'
import { TaskGuard } from '../index.mjs'
import {
  CHANGED_EVENT,
  JOIN_HOOK_MARGIN_MS,
  MAX_RESULT_BYTES,
  SPAWN_TOOL,
  configJsonSchema,
  createDispatchGuard,
  createSpawnGuard,
  createToolGuard,
  changeOf,
  endOrphans,
  featureHandlers,
  gatewayMethods,
  interruptedStatus,
  operations,
  metricsEndpoints,
  resolveConfig,
  sharedRuntime,
  taskGuardCommand,
} from './index.mjs'

export const PLUGIN_ID = 'task-guard'
/** Prometheus text of the guard's metrics: `GET` with the gateway's token. */
export const METRICS_PATH = '/api/plugins/task-guard/metrics'
/** The gateway RPC method answering `{ contentType, text }` with the same text (scope operator.read). */
export const METRICS_METHOD = 'taskguard.metrics'

/**
 * The guard operations as an OpenClaw feature contract: each is a session action (the
 * gateway checks operator.read for queries, operator.write for actions), the queries
 * are agent tools too, and `changed` tells watching pages a guard changed.
 */
export const FEATURE_CONTRACT = defineFeatureContract({
  pluginId: PLUGIN_ID,
  operations: Object.fromEntries(
    Object.entries(operations).map(([name, op]) => [name, { kind: op.kind, description: op.description, input: op.input, output: op.output, ...(op.tool ? { tool: op.tool } : {}) }]),
  ),
  events: { [CHANGED_EVENT]: { type: 'object', additionalProperties: false, required: ['type', 'key'], properties: { type: { type: 'string' }, key: { type: 'string' } } } },
})

// Below every other policy plugin: a call another plugin blocks never takes a key.
const LAST = -1000

async function openGuard(cfg) {
  if (cfg.store.startsWith('sqlite:')) mkdirSync(path.dirname(cfg.store.slice('sqlite:'.length)), { recursive: true })
  return TaskGuard.open({
    store: cfg.store,
    namespace: cfg.namespace,
    defaultTtlMs: cfg.ttlMs,
    onStale: cfg.onStale,
    replayMs: cfg.replayMs,
    // Explicit: the plugin cuts the results it stores (a turn's final text) to this.
    maxResultBytes: MAX_RESULT_BYTES,
    owner: `openclaw@${hostname()}:${process.pid}`,
  })
}

/**
 * Registers the guards on `api` (an OpenClawPluginApi) and returns them, for hosts
 * that compose plugins themselves. OpenClaw calls this once per registration (several
 * per process); they share one runtime (store, heartbeats) per store. The store opens
 * on first use, off the JS thread.
 */
export function registerTaskGuard(api, { stateDir = resolveStateDir() } = {}) {
  const cfg = resolveConfig(api.pluginConfig ?? {}, { stateDir })
  const log = api.logger
  const rt = sharedRuntime(cfg, { stateDir, open: openGuard, log })
  const { getGuard, held, origin } = rt
  // OpenClaw's task registry, where a background command's end is recorded; the
  // gateway's own registration's view is preferred (it lives as long as the process).
  if (api.runtime?.tasks !== undefined && (rt.tasks === undefined || api.registrationMode === 'full')) rt.tasks = api.runtime.tasks
  const interrupted = interruptedStatus(cfg.onStale)
  const spawn = cfg.spawn.enabled
    ? createSpawnGuard({
        getGuard,
        held,
        ttlMs: cfg.ttlMs,
        acceptTimeoutMs: cfg.spawn.acceptTimeoutMs,
        onDuplicate: cfg.spawn.onDuplicate,
        joinTimeoutMs: cfg.spawn.joinTimeoutMs,
        origin,
      })
    : null
  const tools =
    cfg.tools.length > 0
      ? createToolGuard({ getGuard, held, rules: cfg.tools, ttlMs: cfg.ttlMs, origin, getTasks: () => rt.tasks, interrupted })
      : null
  if (tools !== null && rt.unsubscribe === undefined) {
    // A command ended somewhere in this session: its background run may be over now.
    rt.unsubscribe = onDiagnosticEvent((evt) => {
      if (evt?.type === 'exec.process.completed' && typeof evt.sessionKey === 'string') {
        tools.commandEnded(evt.sessionKey).catch((err) => log?.warn?.(`task-guard: ${err.code ?? ''} ${err.message}`))
      }
    })
  }
  const dispatch =
    cfg.dispatch.tasks.length > 0
      ? createDispatchGuard({
          getGuard,
          held,
          rules: cfg.dispatch.tasks,
          ttlMs: cfg.ttlMs,
          maxTurnMs: cfg.dispatch.maxTurnMs,
          answered: rt.answered,
          started: rt.started,
          ended: rt.ended,
          origin,
        })
      : null

  const matcher = [...(spawn ? [SPAWN_TOOL] : []), ...(tools ? tools.tools.filter((t) => t !== SPAWN_TOOL) : [])]
  // A joining duplicate spawn waits inside before_tool_call, whose default timeout (15 s)
  // would block it with OpenClaw's generic failure text: outlast the wait.
  const spawnJoins = spawn !== null && cfg.spawn.onDuplicate === 'join'
  if (matcher.length > 0) {
    api.on(
      'before_tool_call',
      async (event, ctx) => (await spawn?.beforeToolCall(event, ctx)) ?? (await tools?.beforeToolCall(event, ctx)),
      { matcher, priority: LAST, ...(spawnJoins ? { timeoutMs: cfg.spawn.joinTimeoutMs + JOIN_HOOK_MARGIN_MS } : {}) },
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
  if (spawn) {
    api.on('subagent_progress', (event) => spawn.subagentProgress(event))
    api.on('subagent_ended', (event) => spawn.subagentEnded(event))
  }
  if (dispatch) {
    api.on('before_dispatch', (event, ctx) => dispatch.beforeDispatch(event, ctx), { priority: LAST })
    api.on('reply_payload_sending', (event) => dispatch.replyPayloadSending(event))
    api.on('before_agent_run', async (event, ctx) => {
      try {
        await dispatch.beforeAgentRun(event, ctx)
      } catch (err) {
        log?.warn?.(`task-guard: before_agent_run for ${ctx.sessionKey}: ${err.code ?? ''} ${err.message}`)
      }
      return undefined
    })
  }
  // A child's result is its own agent_end's text: wanted by joiners and replays only
  // (agent_end needs hooks.allowConversationAccess, which plain spawn guarding does not).
  const spawnResults = spawn !== null && (spawnJoins || cfg.replayMs > 0)
  if (dispatch || spawnResults) {
    api.on('agent_end', async (event, ctx) => {
      try {
        if (spawnResults) await spawn.agentEnd(event, ctx)
        await dispatch?.agentEnd(event, ctx)
      } catch (err) {
        // The run stays held (heartbeated until maxTurnMs), then staleness decides.
        log?.warn?.(`task-guard: agent_end for ${ctx.sessionKey}: ${err.code ?? ''} ${err.message}`)
      }
    })
  }
  api.registerCommand(taskGuardCommand({ getGuard }))
  // Session actions and agent tools of the operations (every registration: agent runs
  // get their tools from theirs); the change events from the gateway's own only. A host
  // composing plugins under another id has no feature transport of ours to serve them.
  if (api.id === PLUGIN_ID) defineFeaturePlugin({
    contract: FEATURE_CONTRACT,
    name: 'Task Guard',
    description: 'Task guard operations',
    setup(_api, events) {
      if (api.registrationMode === 'full') rt.featureEvents = events
      return featureHandlers({ getGuard, operations })
    },
  }).register(api)
  // The gateway's own surfaces, once: only its `full` registration serves them (the
  // per-run registrations would register the method again, which OpenClaw refuses).
  if (api.registrationMode === 'full') {
    const metrics = metricsEndpoints({ getGuard })
    api.registerHttpRoute?.({ path: METRICS_PATH, auth: 'gateway', match: 'exact', handler: metrics.httpHandler })
    api.registerGatewayMethod?.(METRICS_METHOD, metrics.gatewayMethod, { scope: 'operator.read' })
    for (const m of gatewayMethods({ getGuard })) api.registerGatewayMethod?.(m.method, m.handler, { scope: m.scope })
  }
  api.on('gateway_start', async () => {
    try {
      // Open at start so a bad store shows in the gateway log at once, not at the first spawn.
      const guard = await getGuard()
      // Pages showing guards refresh on these; once per process and store.
      rt.unsubscribeChanges ??= guard.onEvent((evt) => {
        const change = changeOf(evt)
        if (change === null) return
        try {
          rt.featureEvents?.emit(CHANGED_EVENT, change)
        } catch {
          // Before the gateway's event service started, or after it stopped: no page to tell.
        }
      })
      const ended = await endOrphans(guard, origin, interrupted)
      for (const g of ended) log?.info?.(`task-guard: ${g.key}: run ${g.runId} ended (${interrupted}): the gateway restarted before it ended`)
    } catch (err) {
      log?.error?.(`task-guard: cannot open ${cfg.store}: ${err.code ?? ''} ${err.message}`)
    }
  })
  api.on('gateway_stop', async (event) => {
    // A plugin replacement (a config edit) keeps the process and its work running.
    if (event?.reason === 'plugin replacement') return
    // The gateway is going down and the children and commands its held runs vouch for go with it.
    // Turns are left held: OpenClaw resumes them after the restart (and the resumed turn
    // adopts their runs), or they go stale.
    await held.endAll(interrupted, `the gateway stopped (${event?.reason ?? 'stop'}) before this run ended`, (_, id) => !id.startsWith('turn:'))
    await rt.close()
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
