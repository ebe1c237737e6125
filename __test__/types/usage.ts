// Compiled by `npm run test:types` (tsc --noEmit): the published types must
// accept real usage and reject misuse (each @ts-expect-error must be an error).
import { TaskGuard, taskKey, codes, fingerprint, type AcquireResult, type GuardEvent, type Inspection } from 'task-guard'

async function main(): Promise<void> {
  const guard = await TaskGuard.open({ store: 'memory:', defaultTtlMs: 600_000, onStale: 'fail' })
  const key: string = taskKey('agent:main:telegram:direct:1', 'report')
  const r: AcquireResult = await guard.acquire(key, { owner: 'gw', ttlMs: 1000, waitMs: 10, signal: AbortSignal.timeout(100), meta: { a: 1 } })
  if (r.status === 'acquired') {
    const token: number = r.fencingToken
    const healed: string | undefined = r.healedFrom?.runId
    const rel = await guard.release(key, r.runId, 'failed', { error: new Error('x') })
    if (rel.status === 'released') console.log(rel.endedAt, token, healed)
  } else if (r.status === 'already_running') {
    const owner: string | null = r.owner
    console.log(owner, r.expiresAt)
  } else {
    const err: string | null = r.error
    console.log(err, r.failedRunId)
  }
  const hb = await guard.heartbeat(key, 'id', { ttlMs: 5 })
  if (hb.status === 'extended') console.log(hb.expiresAt)
  const ok = await guard.approveRetry(key, { approvedBy: 'ops', reason: 'fixed' })
  if (ok.status === 'approved') console.log(ok.nextAttempt)
  const seen: Inspection = await guard.inspect({ prefix: 'agent:', state: 'stale', limit: 10 })
  console.log(seen.counts.failed, seen.guards[0]?.state)
  const page2: Inspection = await guard.inspect({ prefix: 'agent:', after: seen.next })
  const next: string | null = page2.next
  for await (const g of guard.guards({ prefix: 'agent:', state: 'failed' })) console.log(g.key, g.error, next)
  const done = await guard.run(key, async (lease) => {
    lease.signal.throwIfAborted()
    await lease.heartbeat()
    return 7
  }, { heartbeatMs: 100 })
  if (done.status === 'completed') {
    const n: number = done.value
    console.log(n, done.release)
  }
  const off = guard.onEvent((e: GuardEvent) => {
    if (e.type === 'healed') console.log(e.healedBy)
    if (e.type === 'conflict') console.log(e.status)
  })
  off()
  const code: string = codes.INVALID_ARG
  console.log(code)
  await guard.close()

  const durable = await TaskGuard.open({ store: 'sqlite:./guards.db', durability: 'normal', groupCommit: true, pollMs: 50 })
  const shared = await TaskGuard.open({ store: 'redis://127.0.0.1:6379/0', connectTimeoutMs: 500, commandTimeoutMs: 1000 })
  // A store URL from the environment is a plain string: accepted, checked at run time.
  const fromEnv = await TaskGuard.open({ store: process.env.TASK_GUARD_STORE! })
  const fromConfig: string = 'sqlite:./guards.db'
  await TaskGuard.open({ store: fromConfig, namespace: 'tenant-a' })
  await fromEnv.close()
  await shared.close()
  const forced = await durable.forceRelease(key, { by: 'ops', reason: 'worker died' })
  if (forced.status === 'released') console.log(forced.runId, forced.endedAt)
  // @ts-expect-error durable stores open asynchronously
  new TaskGuard({ store: 'sqlite:./guards.db' })
  // @ts-expect-error the store is a string
  await TaskGuard.open({ store: 5432 })
  // @ts-expect-error unknown release status
  await guard.release(key, 'id', 'done')
  // @ts-expect-error unknown state
  await guard.inspect({ state: 'idle' })
  // @ts-expect-error a cursor is a string
  await guard.inspect({ after: 5 })
  // @ts-expect-error guards() pages by itself: no limit
  guard.guards({ limit: 10 })
  // @ts-expect-error onStale is 'heal' | 'fail'
  new TaskGuard({ onStale: 'retry' })
  // @ts-expect-error ttlMs is a number
  await guard.acquire(key, { ttlMs: '100' })
}

void main()

async function fingerprints(guard: TaskGuard) {
  const r = await guard.acquire('k', { fingerprint: fingerprint({ n: 1 }) })
  if (r.status === 'payload_mismatch') {
    const expected: string = r.expected
    console.log(expected, r.fingerprint, r.runId)
  }
  // @ts-expect-error a fingerprint is a string (fingerprint() makes one)
  await guard.acquire('k', { fingerprint: { n: 1 } })
}

const never = (x: never): never => x

/** A guard opened without replayMs never answers already_completed: existing exhaustive code compiles. */
async function withoutReplay() {
  const guard = new TaskGuard()
  const r = await guard.acquire('k')
  switch (r.status) {
    case 'acquired':
    case 'already_running':
    case 'awaiting_approval':
      return r.status
    default:
      return never(r)
  }
}

/** A guard opened with replayMs must handle already_completed. */
async function withReplay() {
  const guard = await TaskGuard.open({ store: 'sqlite:./guards.db', replayMs: 60_000, maxResultBytes: 1024 })
  const r = await guard.acquire('k')
  if (r.status === 'already_completed') {
    const at: number = r.endedAt
    console.log(at, r.result, r.runId)
  }
  switch (r.status) {
    case 'acquired':
    case 'already_running':
    case 'awaiting_approval':
      return r.status
    default:
      // @ts-expect-error already_completed is not handled
      return never(r)
  }
}

async function outcomesAndJoin(guard: TaskGuard) {
  const o = await guard.outcome('k', 'run', { waitMs: 1000, signal: AbortSignal.timeout(5000) })
  switch (o.status) {
    case 'succeeded':
      console.log(o.result, o.endedAt)
      break
    case 'failed':
      console.log(o.error?.length)
      break
    case 'cancelled':
      console.log(o.reason)
      break
    case 'running':
      console.log(o.expiresAt)
      break
    case 'unknown':
      break
    default:
      never(o)
  }
  const j = await guard.run('k', async () => 42, { join: true })
  if (j.status === 'joined' && j.outcome === 'succeeded') console.log(j.value)
  if (j.status === 'joined' && j.outcome === 'failed') console.log(j.error)
  if (j.status === 'completed') {
    const v: number = j.value
    console.log(v)
  }
  await guard.release('k', 'run', 'succeeded', { result: { rows: 3 } })
  // @ts-expect-error join is a boolean
  await guard.run('k', async () => 1, { join: 'yes' })
  // @ts-expect-error waitMs is a number
  await guard.outcome('k', 'run', { waitMs: '1' })
}

void [withoutReplay, withReplay, outcomesAndJoin]
