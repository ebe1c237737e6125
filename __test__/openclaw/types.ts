// The plugin's handlers and helpers against OpenClaw's own declarations: every
// handler must accept the event and context types `api.on` gives it and return what
// that hook takes. Checked by tsc in `npm run test:openclaw`.

import type { OpenClawPluginApi } from 'openclaw/plugin-sdk/plugin-entry'
import { TaskGuard } from 'task-guard'
import {
  HeldRuns,
  createDispatchGuard,
  createSpawnGuard,
  createToolGuard,
  guardTrigger,
  metricsEndpoints,
  taskGuardCommand,
} from 'task-guard/openclaw'
import plugin, { registerTaskGuard } from 'task-guard/openclaw/plugin'

declare const api: OpenClawPluginApi
const guard = new TaskGuard()
const getGuard = async () => guard
const held = new HeldRuns(getGuard, { heartbeatMs: 1000 })

const spawn = createSpawnGuard({ getGuard, held, ttlMs: 60_000, onDuplicate: 'join', joinTimeoutMs: 30_000 })
api.on('before_tool_call', (event, ctx) => spawn.beforeToolCall(event, ctx), { matcher: ['sessions_spawn'], timeoutMs: 35_000 })
api.on('agent_end', (event, ctx) => spawn.agentEnd(event, ctx))
api.on('after_tool_call', (event, ctx) => spawn.afterToolCall(event, ctx))
api.on('subagent_ended', (event) => spawn.subagentEnded(event))
api.on('subagent_progress', (event) => spawn.subagentProgress(event))

const tools = createToolGuard({ getGuard, held, rules: [{ tool: 'exec', keyParam: 'command' }], ttlMs: 60_000, getTasks: () => api.runtime.tasks })
api.on('before_tool_call', (event, ctx) => tools.beforeToolCall(event, ctx))
api.on('after_tool_call', (event, ctx) => tools.afterToolCall(event, ctx))

const dispatch = createDispatchGuard({ getGuard, held, rules: [{ match: /^\/deploy\b/, task: 'deploy', onDuplicate: 'join', joinTimeoutMs: 60_000 }], ttlMs: 60_000, started: new Set() })
api.on('before_dispatch', (event, ctx) => dispatch.beforeDispatch(event, ctx))
api.on('agent_end', (event, ctx) => dispatch.agentEnd(event, ctx))
api.on('reply_payload_sending', (event) => dispatch.replyPayloadSending(event))
api.on('before_agent_run', (event, ctx) => dispatch.beforeAgentRun(event, ctx))

api.registerCommand(taskGuardCommand({ getGuard }))
const metrics = metricsEndpoints({ getGuard })
api.registerHttpRoute({ path: '/api/plugins/task-guard/metrics', auth: 'gateway', match: 'exact', handler: metrics.httpHandler })
api.registerGatewayMethod('taskguard.metrics', metrics.gatewayMethod, { scope: 'operator.read' })
registerTaskGuard(api)
plugin.register(api)

async function trigger(): Promise<string> {
  const res = await guardTrigger(guard, { sessionKey: 'agent:main:x', task: 'deploy' }, async (lease) => lease.runId)
  if (res.handled) return res.text
  const out = await res.outcome
  return out.status === 'succeeded' ? out.value : String(out.error)
}
void trigger
