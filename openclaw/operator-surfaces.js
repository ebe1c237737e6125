'use strict'

// Where the operations of operations.js meet OpenClaw: who the caller of each surface
// is (its session and its name), the `/taskguard` command, the gateway methods the
// Control UI page calls, and the guard events the page refreshes on. Each surface only
// maps its context to a Caller and formats; `runOperation` does the rest.

const { NOT_PERMITTED, runOperation } = require('./operations')
const { formatInspection } = require('./diagnostics')

/** Gateway methods, one per operation; reads need operator.read, writes operator.write. */
const GATEWAY_METHODS = {
  list: { method: 'taskguard.guards.list', scope: 'operator.read' },
  show: { method: 'taskguard.guards.show', scope: 'operator.read' },
  approve: { method: 'taskguard.guards.approve', scope: 'operator.write' },
  'force-release': { method: 'taskguard.guards.forceRelease', scope: 'operator.write' },
}
/** The feature event the page watches: some guard changed (the payload names which). */
const CHANGED_EVENT = 'changed'

/**
 * A chat sender: an owner (OpenClaw's `senderIsOwner`: `commands.ownerAllowFrom` on a
 * channel, `operator.admin` on the webchat) sees every key; anyone else the command's
 * session only. A sender with neither is refused.
 */
function commandCaller(ctx) {
  const by = ctx.senderId ? `${ctx.channel}:${ctx.senderId}` : String(ctx.channel ?? 'chat')
  // OpenClaw's own owner rule for gateway clients (an operator.admin connection is the
  // webchat's owner) is applied here too: 2026.9.6 hands plugin commands from chat.send
  // senderIsOwner false for such a client, but its scopes as gatewayClientScopes,
  // which only gateway clients carry (a channel sender never does).
  const admin = Array.isArray(ctx.gatewayClientScopes) && ctx.gatewayClientScopes.includes('operator.admin')
  const home = typeof ctx.sessionKey === 'string' && ctx.sessionKey !== '' ? ctx.sessionKey : null
  if (ctx.senderIsOwner === true || admin) return { session: null, home, by }
  if (typeof ctx.sessionKey !== 'string' || ctx.sessionKey === '') {
    throw Object.assign(new Error('this chat has no session; only an owner may list or approve guards here'), { code: NOT_PERMITTED })
  }
  return { session: ctx.sessionKey, by }
}

/** The agent: its own session, always (an agent never acts for other sessions). */
function toolCaller(toolCtx) {
  const session = toolCtx?.sessionKey
  if (typeof session !== 'string' || session === '') {
    throw Object.assign(new Error('this tool call has no session, so no guards to show'), { code: NOT_PERMITTED })
  }
  return { session, by: `agent:${toolCtx.agentId ?? session}` }
}

/**
 * A gateway client (the Control UI, the CLI's `gateway call`): the gateway has already
 * checked its operator scope for the method; it sees every key. Named by the identity
 * the gateway authenticated, else its device, else its client id.
 */
function gatewayCaller(client) {
  const profile = client?.authenticatedUserProfile
  const device = client?.connect?.device?.id
  const name =
    profile?.displayName ??
    profile?.profileId ??
    client?.authenticatedUserId ??
    (typeof device === 'string' ? `device:${device.slice(0, 16)}` : (client?.connect?.client?.id ?? client?.connId ?? 'unknown'))
  return { session: null, by: `operator:${name}` }
}

/** A session action (the feature transport) carries the connection's id and scopes, no name. */
function sessionActionCaller(action) {
  return { session: null, by: `operator:${action?.client?.connId ?? 'unknown'}` }
}

/** An error as every surface reports it: its stable code and message. */
const errorOf = (err) => ({ code: err?.code ?? 'ERR_TASK_GUARD_INTERNAL', message: String(err?.message ?? err) })

const USAGE =
  'usage: /taskguard [list [state] [session]] | /taskguard more <cursor> [state] [session] | /taskguard show <task or key> | /taskguard approve <task or key> | /taskguard release <task or key> | /taskguard metrics'

/** `<task or key>`: a key names itself; a bare task is this session's. */
const target = (arg) => (arg.includes('::') ? { key: arg } : { task: arg })
const STATE_WORDS = new Set(['running', 'stale', 'failed', 'approved'])

function showText(res) {
  const g = res.guard
  if (g === null) return `${res.key}: nothing running, failed or approved`
  const lines = [`${g.key}: ${g.state}, run ${g.runId}, attempt ${g.attempt}`]
  if (g.startedAt) lines.push(`started ${new Date(g.startedAt).toISOString()}${g.owner ? ` by ${g.owner}` : ''}`)
  if (g.state === 'running' || g.state === 'stale') lines.push(`lease ${g.state === 'stale' ? 'expired' : 'expires'} ${new Date(g.expiresAt).toISOString()}`)
  if (g.failedAt) lines.push(`failed ${new Date(g.failedAt).toISOString()}${g.error ? `: ${g.error}` : ''}`)
  if (g.approvedAt) lines.push(`retry approved ${new Date(g.approvedAt).toISOString()}${g.approvedBy ? ` by ${g.approvedBy}` : ''}${g.reason ? ` (${g.reason})` : ''}`)
  return lines.join('\n')
}

/** The `/taskguard` command for `api.registerCommand`, on the shared operations. */
function taskGuardCommand({ getGuard }) {
  return {
    name: 'taskguard',
    description: 'List running, stale and failed task guards (your session\'s; every session\'s for an owner); show one; approve a failed task or force-release a dead run; show the metrics.',
    acceptsArgs: true,
    requireAuth: true,
    async handler(ctx) {
      const args = (ctx.args ?? '').trim()
      const [verb = 'list', ...rest] = args.split(/\s+/).filter(Boolean)
      // A key may hold spaces (a guarded command's text): everything after the verb is it.
      const arg = args.slice(verb.length).trim()
      try {
        if (verb === 'metrics' && rest.length === 0) {
          // Prometheus text as is: one sample a line, readable in chat and by a parser.
          return { text: (await (await getGuard()).metrics()).trimEnd() }
        }
        const caller = commandCaller(ctx)
        const run = (name, input) => runOperation(getGuard, name, input, caller)
        if (verb === 'list' || (verb === 'more' && rest.length >= 1)) {
          // Filters: a state word, and (an owner's) a session key; `more` repeats them after the cursor.
          const [after, ...filters] = verb === 'more' ? rest : [undefined, ...rest]
          const state = filters.find((f) => STATE_WORDS.has(f))
          const session = filters.find((f) => !STATE_WORDS.has(f))
          if (filters.length > 2 || (filters.length === 2 && (state === undefined || session === undefined))) return { text: USAGE }
          const page = await run('list', { limit: 50, ...(state ? { state } : {}), ...(session ? { session } : {}), ...(after ? { after } : {}) })
          const scope = session ?? caller.session
          return {
            text: `${formatInspection(page, { more: (next) => ['/taskguard more', next, ...filters].join(' ') })}\n(${scope ? `session ${scope}` : 'every session'})`,
          }
        }
        if (verb === 'show' && arg !== '') return { text: showText(await run('show', target(arg))) }
        if (verb === 'approve' && arg !== '') {
          const res = await run('approve', target(arg))
          return { text: res.status === 'approved' ? `Approved: ${res.key} may run again (attempt ${res.nextAttempt}); approved by ${res.by}.` : `${res.key} has no failed run to approve.` }
        }
        if (verb === 'release' && arg !== '') {
          const res = await run('force-release', target(arg))
          return { text: res.status === 'released' ? `Force-released by ${res.by}: ${res.key} (run ${res.runId}) is free.` : `${res.key} has no running run to release.` }
        }
        return { text: USAGE }
      } catch (err) {
        const e = errorOf(err)
        return { text: `task-guard: ${e.code}: ${e.message}` }
      }
    },
  }
}

/**
 * Gateway method handlers (`api.registerGatewayMethod(method, handler, { scope })`):
 * params are the operation's input; answers its output, or `{ code, message }` with
 * the stable code (`details.code`) when refused.
 */
function gatewayMethods({ getGuard }) {
  return Object.entries(GATEWAY_METHODS).map(([name, { method, scope }]) => ({
    method,
    scope,
    async handler({ params, client, respond }) {
      try {
        respond(true, await runOperation(getGuard, name, params ?? {}, gatewayCaller(client)))
      } catch (err) {
        const e = errorOf(err)
        respond(false, undefined, { code: 'INVALID_REQUEST', message: `${e.code}: ${e.message}`, details: { code: e.code } })
      }
    },
  }))
}

/** The feature handlers (session actions and agent tools) for defineFeaturePlugin's setup. */
function featureHandlers({ getGuard, operations }) {
  const handlers = {}
  for (const name of Object.keys(operations)) {
    handlers[name] = async (input, context) => {
      const caller = context.source === 'tool' ? toolCaller(context.tool) : context.source === 'command' ? commandCaller(context.command) : sessionActionCaller(context.action)
      return runOperation(getGuard, name, input, caller)
    }
  }
  return handlers
}

/**
 * What a guard event says to the page: which key changed and how (no owner, no error
 * text); null for a conflict, which changed nothing: a storm of duplicate triggers
 * (what the guard is for) must not make every open page reload once per duplicate.
 */
function changeOf(evt) {
  if (evt.type === 'conflict') return null
  return { type: String(evt.type), key: String(evt.key) }
}

module.exports = {
  GATEWAY_METHODS,
  CHANGED_EVENT,
  commandCaller,
  toolCaller,
  gatewayCaller,
  sessionActionCaller,
  taskGuardCommand,
  gatewayMethods,
  featureHandlers,
  changeOf,
}
