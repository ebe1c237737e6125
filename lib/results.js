'use strict'
// The public shapes of inspections and events, built from the native layer's.
// Answers to commands are lib/answers.js's.

function inspection(r) {
  const guards = r.guards.map((g) => ({
    key: g.key,
    state: g.state,
    runId: g.runId,
    fencingToken: g.fencingToken,
    owner: g.owner ?? null,
    startedAt: g.startedAt,
    expiresAt: g.expiresAt,
    attempt: g.attempt,
    meta: g.meta === undefined ? null : JSON.parse(g.meta),
    failedAt: g.failedAt ?? null,
    error: g.error ?? null,
    approvedAt: g.approvedAt ?? null,
    approvedBy: g.approvedBy ?? null,
    reason: g.reason ?? null,
  }))
  // No counts when none were asked for (a page walk of guards()).
  return { now: r.now, guards, counts: r.counts ?? null, next: r.next ?? null }
}

/** A native event object as listeners see it (only the fields its type has). */
function event(e, key) {
  const out = { type: e.type, key: key ?? e.key, runId: e.runId, at: e.at }
  if (e.status !== undefined) out.status = e.status
  if (e.releaseStatus !== undefined) out.releaseStatus = e.releaseStatus
  if (e.healedBy !== undefined) out.healedBy = e.healedBy
  if (e.cause !== undefined) out.cause = e.cause
  return out
}

module.exports = { inspection, event }
