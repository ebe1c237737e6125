// What the *.gateway.mjs files share: one gateway per file with task-guard installed
// from the runner's registry, the mock model it talks to, and small waiting helpers
// (deadlines on conditions read from the gateway or the store, never bare sleeps).

import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before } from 'node:test'
import { startMockModel, textOf } from './mock-model.mjs'
import { Gateway } from './openclaw-gateway.mjs'

export const PLUGIN_CONFIG = {
  dispatch: { tasks: [{ match: '^/deploy\\b', task: 'deploy' }] },
  tools: [{ tool: 'exec', keyParam: 'command', onError: 'block' }],
  heartbeatMs: 1000,
}

export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i

/** The session key OpenClaw resolves a chat.send `sessionKey` to (default agent "main"). */
export const resolved = (sessionKey) => `agent:main:${sessionKey}`

/**
 * Registers before/after hooks that set up `{ gw, mock }` for the file: the mock model,
 * then a gateway with the plugin installed (`openclaw plugins install`) and started.
 * TASK_GUARD_GATEWAY_KEEP=1 keeps the gateway's directory (logs, state) after the run, with
 * the mock model's calls in mock-calls.json.
 */
export function useGateway({ pluginConfig = PLUGIN_CONFIG, configure } = {}) {
  const ctx = { gw: null, mock: null }
  before(async () => {
    const registryUrl = process.env.TASK_GUARD_GATEWAY_REGISTRY
    const openclaw = process.env.TASK_GUARD_OPENCLAW
    if (!registryUrl || !openclaw) throw new Error('run the gateway suite with `node __test__/gateway/run.mjs`')
    ctx.mock = await startMockModel()
    const t0 = Date.now()
    ctx.gw = await Gateway.create({ node: process.execPath, openclaw, registryUrl, modelBaseUrl: ctx.mock.baseUrl, pluginConfig, configure })
    const installed = Date.now()
    await ctx.gw.start()
    process.stderr.write(
      `# gateway in ${ctx.gw.dir}: plugin installed in ${installed - t0} ms (install ${ctx.gw.timings.pluginInstallMs} ms), ready in ${ctx.gw.readyMs} ms\n`,
    )
  })
  after(async () => {
    const keep = process.env.TASK_GUARD_GATEWAY_KEEP === '1'
    // What the model was asked is what a kept gateway's transcripts cannot show (OpenClaw rewrites prompts).
    if (keep && ctx.gw && ctx.mock) writeFileSync(path.join(ctx.gw.dir, 'mock-calls.json'), JSON.stringify(ctx.mock.calls.map(callRecord), null, 1))
    await ctx.gw?.dispose({ keep })
    await ctx.mock?.close()
  })
  return ctx
}

/** A mock model call as mock-calls.json keeps it: the messages' roles and texts, not the request body. */
function callRecord({ body, messages, allText, ...call }) {
  return { ...call, messages: messages.map((m) => ({ role: m.role, text: textOf(m.content), toolCalls: m.tool_calls?.map((c) => c.function?.name) })) }
}

/** Polls `fn` until it returns a truthy value (returned), or throws after `timeoutMs` naming `what` (a string, or a function of nothing, async or not) and the last value. */
export async function eventually(fn, { timeoutMs = 15_000, intervalMs = 250, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    last = await fn()
    if (last) return last
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? await what() : what}; last seen: ${JSON.stringify(last)}`)
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Resolves with the first `n` of `promises` to resolve, as `{ index, value }`, or rejects after `timeoutMs`. */
export function firstN(promises, n, { timeoutMs = 30_000, what = `${n} answers` } = {}) {
  return new Promise((resolve, reject) => {
    const got = []
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${got.length}: ${JSON.stringify(got)}`)), timeoutMs)
    timer.unref()
    promises.forEach((p, index) =>
      p.then(
        (value) => {
          got.push({ index, value })
          if (got.length === n) {
            clearTimeout(timer)
            resolve(got)
          }
        },
        () => {},
      ),
    )
  })
}

/** The text of a transcript message. */
export function textOfMessage(m) {
  if (typeof m?.content === 'string') return m.content
  if (Array.isArray(m?.content)) return m.content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('')
  return ''
}

/** One line per guard: what a failing assertion should show of the store. */
export const brief = (inspection) => inspection.guards.map((g) => `${g.state} ${g.key} run ${g.runId} attempt ${g.attempt}${g.error ? ` (${g.error})` : ''}`)
