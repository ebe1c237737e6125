'use strict'
// The public shapes of answers, built from the native layer's replies. One
// place, so every store answers with identical objects.

const { Lease, Refusal } = require('./lease')

function run(r) {
  return {
    runId: r.runId,
    fencingToken: r.fencingToken,
    startedAt: r.startedAt,
    expiresAt: r.expiresAt,
    attempt: r.attempt,
    owner: r.owner ?? null,
  }
}

/** An acquire's answer: a {@link Lease} of `guard` when granted, else a {@link Refusal}. */
function acquire(key, reply, guard) {
  if (reply.status === 'acquired') {
    const r = reply.run
    return new Lease(guard, key, r.runId, r.fencingToken, r.startedAt, r.expiresAt, r.attempt, r.owner ?? null, reply.healedFrom ? run(reply.healedFrom) : null)
  }
  if (reply.status === 'already_running') return Object.assign(new Refusal(reply.retryInMs), { status: 'already_running', key, ...run(reply.run) })
  return Object.assign(new Refusal(), {
    status: 'awaiting_approval',
    key,
    failedRunId: reply.failedRunId,
    failedAt: reply.failedAt,
    error: reply.error ?? null,
    attempt: reply.attempt,
  })
}

function release(key, runId, reply) {
  if (reply.status === 'released') return { status: 'released', key, runId, endedAt: reply.endedAt }
  return { status: reply.status, key, runId }
}

function heartbeat(key, runId, reply) {
  if (reply.status === 'extended') return { status: 'extended', key, runId, expiresAt: reply.expiresAt }
  return { status: reply.status, key, runId }
}

function approve(key, reply) {
  if (reply.status !== 'approved') return { status: 'not_failed', key }
  return { status: 'approved', key, failedRunId: reply.failedRunId, approvedAt: reply.approvedAt, nextAttempt: reply.nextAttempt }
}

function force(key, reply) {
  if (reply.status !== 'released') return { status: 'not_running', key }
  return { status: 'released', key, runId: reply.runId, endedAt: reply.endedAt }
}

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

module.exports = { acquire, release, heartbeat, approve, force, inspection, event }
