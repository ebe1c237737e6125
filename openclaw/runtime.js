'use strict'

// What the plugin keeps for one gateway process. OpenClaw registers a plugin many
// times in one process (at gateway start in `full` mode, then a fresh `discovery`
// registration for each agent run and for inbound dispatch), and each registration's
// hooks are called for a different part of a turn: `before_dispatch` reaches one,
// `agent_end` another. Module state is no help either, since OpenClaw may load a
// fresh copy of the plugin's modules per registration. So the store connection, the
// heartbeat timer and the answers in flight live on `globalThis`, one per store, and
// what a run is for (session, message, turn) lives in the run's `meta` in the store,
// where any registration, and the next gateway process, finds it.

const { createHash, randomUUID } = require('node:crypto')
const { hostname } = require('node:os')
const path = require('node:path')
const { HeldRuns } = require('./held-runs')

const RUNTIMES = Symbol.for('task-guard.openclaw.runtimes')
const PROCESS_ID = Symbol.for('task-guard.openclaw.process-id')

/** This gateway process, for the life of the process; never reused by another. */
function processId() {
  globalThis[PROCESS_ID] ??= randomUUID()
  return globalThis[PROCESS_ID]
}

/** The gateway, across restarts: its host and state directory. */
function gatewayId(stateDir) {
  return createHash('sha256').update(`${hostname()}\0${path.resolve(stateDir)}`).digest('hex').slice(0, 16)
}

/**
 * The shared runtime for `cfg` (one per store, namespace and stale policy in this
 * process): `getGuard()`, the held runs it heartbeats, and the ids its runs carry.
 * `open(cfg)` opens the TaskGuard on first use.
 */
function sharedRuntime(cfg, { stateDir, open, log }) {
  globalThis[RUNTIMES] ??= new Map()
  const runtimes = globalThis[RUNTIMES]
  // Registrations whose guards answer alike share one: same store, stale and replay policy.
  const id = JSON.stringify([cfg.store, cfg.namespace, cfg.onStale, cfg.replayMs ?? 0])
  let rt = runtimes.get(id)
  if (rt !== undefined) return rt
  let opening = null
  const getGuard = () => {
    opening ??= open(cfg).catch((err) => {
      opening = null // the next hook tries again; until then every guarded call is refused
      throw err
    })
    return opening
  }
  rt = {
    getGuard,
    held: new HeldRuns(getGuard, {
      heartbeatMs: cfg.heartbeatMs,
      onError: (err, run) => log?.warn?.(`task-guard: ${run.key}: ${err.code ?? ''} ${err.message}`),
    }),
    /** Stamped on every run the plugin takes, so a later process knows whose it was. */
    origin: { gateway: gatewayId(stateDir), process: processId() },
    /** Duplicate messages answered by `before_dispatch`, by message id, until their reply is sent. */
    answered: new Map(),
    /** Turn runs whose turn has started (before_agent_run), which a duplicate may join. */
    started: new Set(),
    /** The last joinable turn run of each key that ended here: `{ runId, startedAt, endedAt }`. */
    ended: new Map(),
    /** OpenClaw's `api.runtime.tasks`, once a registration has handed it over. */
    tasks: undefined,
    /** Ends the runtime's subscription to OpenClaw's diagnostic events, if it made one. */
    unsubscribe: undefined,
    /** The feature event emitter of the gateway's own registration (plugin.mjs). */
    featureEvents: undefined,
    /** Ends the subscription to the guard's events that feeds `featureEvents`. */
    unsubscribeChanges: undefined,
    async close() {
      runtimes.delete(id)
      this.unsubscribe?.()
      this.unsubscribeChanges?.()
      this.held.stop()
      const pending = opening
      opening = null
      if (pending) await (await pending.catch(() => null))?.close()
    },
  }
  runtimes.set(id, rt)
  return rt
}

/** How a held run ends when its gateway stops before its work reports an end: as staleness would end it. */
function interruptedStatus(onStale) {
  return onStale === 'fail' ? 'failed' : 'cancelled'
}

/**
 * Ends the runs an earlier process of this gateway took and never ended (it was
 * killed, or stopped while the store was out of reach): their work (children,
 * commands) died with it. Turns are left: OpenClaw resumes an interrupted turn after
 * a restart, and the resumed turn adopts its run (dispatch-guard.js); a turn it does
 * not resume goes stale. Returns what was ended.
 */
async function endOrphans(guard, origin, status) {
  const orphans = []
  // Every page, gathered before any release: the store holds more than one page.
  for await (const g of guard.guards()) {
    if ((g.state === 'running' || g.state === 'stale') && g.meta?.gateway === origin.gateway && g.meta.process !== origin.process && g.meta.kind !== 'turn') {
      orphans.push(g)
    }
  }
  for (const g of orphans) await guard.release(g.key, g.runId, status, { error: 'the gateway restarted before this run ended' })
  return orphans
}

module.exports = { sharedRuntime, gatewayId, processId, interruptedStatus, endOrphans }
