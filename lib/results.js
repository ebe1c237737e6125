'use strict'
// The public shapes of inspections and events, built from the native layer's.
// Answers to commands are lib/answers.js's.

/** An inspection: the native guards are in their public shape already, but for `meta` (JSON text). */
function inspection(r) {
  const guards = r.guards
  for (let i = 0; i < guards.length; i++) {
    const g = guards[i]
    if (g.meta !== null) g.meta = JSON.parse(g.meta)
  }
  // No counts when none were asked for (a page walk of guards()).
  return { now: r.now, guards, counts: r.counts, next: r.next }
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
