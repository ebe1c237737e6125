/**
 * task-guard: stops an agent runtime from launching the same logical task twice.
 *
 * Every method of {@link TaskGuard} returns a promise. Bad input rejects with an
 * `Error` whose `code` is `ERR_TASK_GUARD_INVALID_ARG`, before anything changes:
 * strings (keys, run ids, owners, …) must be well-formed UTF-16 (no lone surrogates);
 * an option whose getter or Proxy trap throws is refused with that error as `cause`.
 */

/** Stable `error.code` values. */
export declare const codes: Readonly<{
  INVALID_ARG: 'ERR_TASK_GUARD_INVALID_ARG'
  CLOSED: 'ERR_TASK_GUARD_CLOSED'
  STORE_UNAVAILABLE: 'ERR_TASK_GUARD_STORE_UNAVAILABLE'
  STORE_CORRUPT: 'ERR_TASK_GUARD_STORE_CORRUPT'
  STORE_VERSION: 'ERR_TASK_GUARD_STORE_VERSION'
  /**
   * A bug in task-guard's native code (it panicked) while answering this call: the call
   * is refused, the process goes on. A store's thread that panicked refuses every later
   * call of that guard with this code; other guards are unaffected.
   */
  INTERNAL: 'ERR_TASK_GUARD_INTERNAL'
  /**
   * Thrown by `import`/`require` when no native binary loads on this platform; the
   * error's `platform` and `package` name the binary and the npm package that carries it,
   * and `projectDir` the project to install it in (null outside a node_modules install).
   */
  NO_BINARY: 'ERR_TASK_GUARD_NO_BINARY'
  /** The abort reason of a lease whose run was lost. */
  LOST: 'ERR_TASK_GUARD_LOST'
}>

export type TaskGuardErrorCode = (typeof codes)[keyof typeof codes]

/** `<sessionKey>::<taskName>`; throws `ERR_TASK_GUARD_INVALID_ARG` on an empty part or a `::` in the task name. */
export declare function taskKey(sessionKey: string, taskName: string): string

/**
 * `'sha256:<64 hex digits>'`: the SHA-256 of `value`'s JSON with every object's keys in
 * sorted order, so equal payloads fingerprint alike however they were built. Throws
 * `ERR_TASK_GUARD_INVALID_ARG` for what JSON cannot hold (a cycle, a BigInt, a function,
 * `undefined`).
 */
export declare function fingerprint(value: unknown): string

/** Certificates for a Redis store over TLS (`rediss://`), as PEM text. */
export interface TlsOptions {
  ca?: string | Uint8Array
  cert?: string | Uint8Array
  key?: string | Uint8Array
}

export interface TaskGuardOptions {
  /**
   * Where guards live: `'memory:'` (the default; one process), `'sqlite:<path>'`
   * (durable, shared by the processes of a host; relative paths resolve against the
   * working directory) or `'redis://[user:password@]host:port[/db]'` / `'rediss://…'`
   * (TLS): shared by gateways on several hosts. Durable stores open with
   * {@link TaskGuard.open} only. Any `string` is accepted (e.g. one read from an
   * environment variable); a malformed URL rejects `ERR_TASK_GUARD_INVALID_ARG`.
   * (`string & {}` keeps the literal forms as editor suggestions.)
   */
  store?: 'memory:' | `sqlite:${string}` | `redis://${string}` | `rediss://${string}` | (string & {})
  /** Prefix that separates tenants sharing a store: 1 to 128 of ASCII letters, digits, `_ - . :` (leave it out for none). */
  namespace?: string
  /** Longest key accepted, in UTF-8 bytes. Default 1024, at most 65536. */
  maxKeyBytes?: number
  /** Run lifetime when acquire names none, in ms. Default 600000 (10 minutes). */
  defaultTtlMs?: number
  /** What the next acquire does with a run past its expiry: heal it (default) or record it failed. */
  onStale?: 'heal' | 'fail'
  /** How long ended runs are remembered for idempotent late releases, in ms. Default 604800000 (7 days). */
  retentionMs?: number
  /**
   * Result replay: for this long after a run of a key succeeded (ms, at most `retentionMs`),
   * `acquire` answers `already_completed` with its result instead of granting a new run,
   * and `run()` returns it without calling its task. Default 0 (off). Failures are never
   * replayed: they block until approved.
   */
  replayMs?: number
  /** The largest result a release may store, in UTF-8 bytes of its JSON. Default 65536, at most 16777216. */
  maxResultBytes?: number
  /** Owner recorded for runs acquired without one (at most 256 UTF-8 bytes). Default `<hostname>:<pid>`. */
  owner?: string
  /** SQLite: `'full'` (default; a commit survives power loss) or `'normal'` (survives a crash of the process). */
  durability?: 'full' | 'normal'
  /** SQLite: share one transaction among calls in flight together (default true); false only to measure what it buys. */
  groupCommit?: boolean
  /** Redis: how long connecting may take, in ms. Default 5000. */
  connectTimeoutMs?: number
  /** Redis: how long one command may take before the call rejects `ERR_TASK_GUARD_STORE_UNAVAILABLE`, in ms. Default 5000. */
  commandTimeoutMs?: number
  /**
   * `rediss://` only: PEM text (a string, or a Buffer as `fs.readFileSync` returns) of the
   * CA certificates the server's certificate must chain to (instead of the public roots),
   * and a client certificate with its private key for servers that ask for one. A value
   * that is not PEM rejects `ERR_TASK_GUARD_INVALID_ARG` at open.
   */
  tls?: TlsOptions
  /** Shared stores: how often a waiting acquire looks again for a release made by another process, in ms. Default 100. */
  pollMs?: number
  /**
   * Memory store only: the time, in ms since the epoch, read before every call (tests).
   * `() => Date.now()` follows Jest's fake clock (`advanceTimersByTime`, `setSystemTime`);
   * `manualClock()` from `task-guard/testing` moves only when told, and `run()` heartbeats
   * on its timers. Durable stores keep their store's clock (an error here).
   */
  clock?: () => number
}

/** A run as conflict and heal answers show it. Times are ms since the epoch. */
export interface RunInfo {
  runId: string
  /** Strictly increasing per key for the life of the store; hand it to downstream systems to reject zombies. */
  fencingToken: number
  startedAt: number
  expiresAt: number
  owner: string | null
  /** 1 for a first run; +1 after each approved failure or healed stale run. */
  attempt: number
}

/**
 * A granted run, and its lease: `release`, `heartbeat`, and `await using` (released as
 * `cancelled` if still held when the scope ends). JSON and spreading see its fields only.
 */
export interface Acquired extends RunInfo, Lease {
  status: 'acquired'
  key: string
  readonly runId: string
  readonly fencingToken: number
  readonly startedAt: number
  readonly expiresAt: number
  readonly attempt: number
  /** The stale run this acquire replaced, or null. */
  healedFrom: RunInfo | null
}

/** A conflict; disposable (to nothing), so `await using r = await guard.acquire(key)` works whatever the answer. */
export interface AlreadyRunning extends RunInfo, AsyncDisposable {
  status: 'already_running'
  key: string
}

export interface AwaitingApproval extends AsyncDisposable {
  status: 'awaiting_approval'
  key: string
  failedRunId: string
  failedAt: number
  error: string | null
  /** The attempt number of the failed run. */
  attempt: number
}

/**
 * The key is held (running, or failed awaiting approval) by a run started with another
 * payload's `fingerprint`: not a duplicate of it. Answered at once, also with `waitMs`.
 */
export interface PayloadMismatch extends AsyncDisposable {
  status: 'payload_mismatch'
  key: string
  /** The run that holds the key. */
  runId: string
  /** The fingerprint this acquire gave. */
  fingerprint: string
  /** The fingerprint the holding run was started with. */
  expected: string
}

/**
 * The key's last run succeeded less than `replayMs` ago (a guard option): its result,
 * and nothing was started. Only a guard opened with `replayMs` answers it.
 */
export interface AlreadyCompleted extends AsyncDisposable {
  status: 'already_completed'
  key: string
  /** The run that succeeded. */
  runId: string
  endedAt: number
  /** What it was released with (`release(…, { result })`, or `run()`'s task's value) as JSON carried it; undefined if nothing. */
  result: unknown
}

export type AcquireResult = Acquired | AlreadyRunning | AwaitingApproval | PayloadMismatch | AlreadyCompleted
export type Conflict = AlreadyRunning | AwaitingApproval | PayloadMismatch

/** `AlreadyCompleted` for a guard that replays (`replayMs`), nothing otherwise. */
export type Replayed<Replays extends boolean, T> = Replays extends true ? T : never

export interface AcquireOptions {
  owner?: string
  /** Run lifetime in ms (integer, 1 to 2147483647); heartbeats extend it. */
  ttlMs?: number
  /** Wait up to this long (FIFO) for the running run to end; then answer. Default 0. */
  waitMs?: number
  /** Aborting rejects a waiting acquire with an `AbortError`. */
  signal?: AbortSignal
  /** JSON-serialisable data kept with the run (at most 16 KiB as JSON); shown by inspect. */
  meta?: unknown
  /**
   * The payload's fingerprint (at most 256 UTF-8 bytes; {@link fingerprint} makes one): while
   * a run started with another is running or failed awaiting approval, this acquire answers
   * `payload_mismatch` instead of a conflict. Without one on either side, no check.
   */
  fingerprint?: string
}

export type ReleaseStatus = 'succeeded' | 'failed' | 'cancelled'

/**
 * `lost`: the run was healed away or forced; `not_owner`: another run holds the key;
 * `already_released`: this run ended by a release before; `not_running`: nothing runs
 * under the key (idle, failed or approved) and the run is not one it remembers.
 */
export type ReleaseResult =
  | { status: 'released'; key: string; runId: string; endedAt: number }
  | { status: 'lost' | 'not_owner' | 'already_released' | 'not_running'; key: string; runId: string }

export interface ReleaseOptions {
  /**
   * A success's value (any JSON value; `'succeeded'` only), kept for duplicates within
   * `replayMs` and for {@link TaskGuard.outcome}. More than `maxResultBytes` as JSON, or
   * anything JSON cannot carry, rejects `ERR_TASK_GUARD_INVALID_ARG` and releases nothing.
   * A key keeps the result of its latest ended run only.
   */
  result?: unknown
  /**
   * Why the run failed: whatever was caught (`catch (err)` gives `unknown`). Its text is
   * kept with the failure (cut to 4 KiB): an `Error`'s message (of any realm), another
   * object's `message`, else its string or JSON form. Never refused.
   */
  error?: unknown
}

export type HeartbeatResult =
  | { status: 'extended'; key: string; runId: string; expiresAt: number }
  | { status: 'lost' | 'not_owner' | 'not_running'; key: string; runId: string }

export interface HeartbeatOptions {
  /** New lifetime from now, in ms; default the run's ttl. */
  ttlMs?: number
}

export interface ApproveRetryOptions {
  approvedBy?: string
  reason?: string
}

export type ApproveRetryResult =
  | { status: 'approved'; key: string; failedRunId: string; approvedAt: number; nextAttempt: number }
  | { status: 'not_failed'; key: string }

export interface ForceReleaseOptions {
  /** Who forced it; recorded with the ended run. */
  by?: string
  reason?: string
}

export type ForceReleaseResult =
  | { status: 'released'; key: string; runId: string; endedAt: number }
  | { status: 'not_running'; key: string }

export type GuardState = 'running' | 'stale' | 'failed' | 'approved'

export interface GuardsOptions {
  /** Only keys starting with this. */
  prefix?: string
  state?: GuardState
}

export interface InspectOptions extends GuardsOptions {
  /** Guards in this page (sorted by key): default 100, at most 1000; 0 answers counts only. */
  limit?: number
  /** The previous page's `next`, to get the page after it (same `prefix` and `state`). */
  after?: string | null
}

export interface GuardInfo {
  key: string
  state: GuardState
  runId: string
  fencingToken: number
  owner: string | null
  startedAt: number
  expiresAt: number
  attempt: number
  meta: unknown
  failedAt: number | null
  error: string | null
  approvedAt: number | null
  approvedBy: string | null
  reason: string | null
}

export interface Inspection {
  /** The store's clock when it was read. */
  now: number
  /** One page, in key order (Redis: SCAN order across pages, key order within one). */
  guards: GuardInfo[]
  /** Per state over every guard matching `prefix` (before `state` and paging). */
  counts: Record<GuardState, number>
  /** Pass as `after` for the next page; null when this page is the last. */
  next: string | null
}

/** A granted run as `acquire` answers it and `run()` hands it to its task. */
export interface Lease extends AsyncDisposable {
  readonly key: string
  readonly runId: string
  readonly fencingToken: number
  readonly startedAt: number
  /** Moves forward with each heartbeat. */
  readonly expiresAt: number
  readonly attempt: number
  /** Aborts (reason code `ERR_TASK_GUARD_LOST`) when the run was healed away. */
  readonly signal: AbortSignal
  /** True until released or lost. */
  readonly held: boolean
  /** The answer of the release made through this lease, or null. */
  readonly releaseAnswer: ReleaseResult | null
  /** The status the run was released with through this lease, or null. */
  readonly releasedAs: ReleaseStatus | null
  heartbeat(options?: HeartbeatOptions): Promise<HeartbeatResult>
  release(status?: ReleaseStatus, options?: ReleaseOptions): Promise<ReleaseResult>
}

export interface RunOptions extends AcquireOptions {
  /** Heartbeat period in ms; default a third of the ttl. */
  heartbeatMs?: number
  /**
   * A duplicate joins the running run instead of answering `already_running`: it waits for
   * that run's outcome (at most `waitMs`, default no limit) and returns it as `joined`. If
   * the run goes stale and is healed, this call runs `fn` itself.
   */
  join?: boolean
}

/** How a run ended, or that it still runs (see {@link TaskGuard.outcome}). */
export type Outcome =
  | { status: 'succeeded'; key: string; runId: string; endedAt: number; /** As JSON carried it; undefined if none, or a later run of the key has ended since. */ result: unknown }
  | { status: 'failed'; key: string; runId: string; endedAt: number; error: string | null }
  | { status: 'cancelled'; key: string; runId: string; endedAt: number; /** Why, if said: the release's error text, or who forced it. */ reason: string | null }
  | { status: 'running'; key: string; runId: string; expiresAt: number }
  | { status: 'unknown'; key: string; runId: string }

export interface OutcomeOptions {
  /** Wait up to this long (ms) for the run to end; then answer `running`. Default 0. */
  waitMs?: number
  /** Aborting rejects a waiting call with an `AbortError`. */
  signal?: AbortSignal
}

/** `run()` of a guard that replays: the key's last run succeeded within `replayMs`; `fn` was not called. */
export interface ReplayedRun {
  status: 'already_completed'
  key: string
  runId: string
  endedAt: number
  /** The value the run succeeded with, as JSON carried it. */
  value: unknown
}

/** `run(…, { join: true })`: the outcome of the run this call joined. */
export type Joined =
  | { status: 'joined'; key: string; runId: string; outcome: 'succeeded'; endedAt: number; /** As JSON carried it. */ value: unknown }
  | { status: 'joined'; key: string; runId: string; outcome: 'failed'; endedAt: number; error: string | null }
  | { status: 'joined'; key: string; runId: string; outcome: 'cancelled'; endedAt: number; reason: string | null }

export interface Completed<T> {
  status: 'completed'
  key: string
  runId: string
  value: T
  /** How the final release was answered: 'released', or 'lost' if the run was healed away meanwhile. */
  release: ReleaseResult['status']
  /** What the run was released with: 'succeeded', or what the task released its lease with; null if lost. */
  releasedAs: ReleaseStatus | null
}

export type GuardEvent =
  | { type: 'acquired' | 'approved'; key: string; runId: string; at: number }
  | { type: 'conflict'; key: string; runId: string; at: number; status: 'already_running' | 'awaiting_approval' | 'payload_mismatch' | 'already_completed' }
  | { type: 'released'; key: string; runId: string; at: number; releaseStatus: 'succeeded' | 'cancelled' | 'forced' }
  | { type: 'failed'; key: string; runId: string; at: number; cause: 'released' | 'stale' }
  | { type: 'healed'; key: string; runId: string; at: number; healedBy: string }

/**
 * `TaskGuard<true>`: a guard opened with `replayMs`, whose acquires may answer
 * `already_completed`; `TaskGuard` (`<false>`) never does. Opening picks it from the options.
 */
export interface TaskGuardConstructor {
  /** A guard on the memory store. Throws on bad options, and for a durable store (use {@link TaskGuard.open}). */
  new (options: TaskGuardOptions & { store?: 'memory:'; replayMs: number }): TaskGuard<true>
  new (options?: TaskGuardOptions & { store?: 'memory:'; replayMs?: undefined }): TaskGuard<false>
  new (options?: TaskGuardOptions & { store?: 'memory:' }): TaskGuard<boolean>
  /**
   * Opens a guard on any store; rejects on bad options (`ERR_TASK_GUARD_INVALID_ARG`),
   * an unreachable store (`ERR_TASK_GUARD_STORE_UNAVAILABLE`), a file that is not a
   * task-guard database (`ERR_TASK_GUARD_STORE_CORRUPT`) or one from a newer version
   * (`ERR_TASK_GUARD_STORE_VERSION`), never touching such a file.
   */
  open(options: TaskGuardOptions & { replayMs: number }): Promise<TaskGuard<true>>
  open(options?: TaskGuardOptions & { replayMs?: undefined }): Promise<TaskGuard<false>>
  open(options?: TaskGuardOptions): Promise<TaskGuard<boolean>>
  readonly prototype: TaskGuard<boolean>
}

export declare const TaskGuard: TaskGuardConstructor

export interface TaskGuard<Replays extends boolean = false> {
  /** Owner recorded for runs acquired without one. */
  readonly owner: string
  readonly closed: boolean
  /** May I start `key` now? A conflict is an answer, not an error. */
  /**
   * Prometheus text exposition (format 0.0.4) of this guard's metrics: counters
   * `task_guard_acquires_total{answer}`, `task_guard_releases_total{status}`,
   * `task_guard_heals_total`, `task_guard_approvals_total`, `task_guard_failures_total{cause}`
   * (answers this guard's store gave; a waiting acquire's retries included), the histogram
   * `task_guard_run_duration_seconds` of released runs, and the gauge
   * `task_guard_guards{state}` of the store's guards now.
   */
  metrics(): Promise<string>
  acquire(key: string, options?: AcquireOptions & { fingerprint?: undefined }): Promise<Acquired | AlreadyRunning | AwaitingApproval | Replayed<Replays, AlreadyCompleted>>
  /** With a `fingerprint`, a run of another payload holding the key is answered `payload_mismatch`. */
  acquire(key: string, options: AcquireOptions): Promise<Acquired | Conflict | Replayed<Replays, AlreadyCompleted>>
  /**
   * Ends `runId` (as acquire returned it: a UUID v7; anything else rejects
   * `ERR_TASK_GUARD_INVALID_ARG`) by outcome; `'failed'` blocks the key until
   * {@link approveRetry}. Default `'succeeded'`.
   */
  release(key: string, runId: string, status?: ReleaseStatus, options?: ReleaseOptions): Promise<ReleaseResult>
  heartbeat(key: string, runId: string, options?: HeartbeatOptions): Promise<HeartbeatResult>
  /**
   * How run `runId` of `key` ended (`succeeded` with its result, `failed` with its error,
   * `cancelled`), at once if it has; `running` if it has not within `waitMs`; `unknown` if
   * the key does not remember it. On a store shared with other processes, a wait looks
   * again every `pollMs` (and at once when a release in this process ends the run).
   */
  outcome(key: string, runId: string, options?: OutcomeOptions): Promise<Outcome>
  /** Lets a failed key run again: the next acquire gets attempt + 1. */
  approveRetry(key: string, options?: ApproveRetryOptions): Promise<ApproveRetryResult>
  /** Operator action: ends a running or stale run whose owner is gone, recorded as forced; that owner later gets `lost`. */
  forceRelease(key: string, options?: ForceReleaseOptions): Promise<ForceReleaseResult>
  /** One page of guards with counts per state; `next` is the cursor of the page after it. */
  inspect(options?: InspectOptions): Promise<Inspection>
  /**
   * Every guard matching `options`, page by page: `for await (const g of guard.guards({ prefix }))`.
   * Throws `ERR_TASK_GUARD_INVALID_ARG` at once for bad options.
   */
  guards(options?: GuardsOptions): AsyncGenerator<GuardInfo, void, undefined>
  /**
   * Acquires, calls `fn(lease)` with heartbeats, releases by outcome (rethrowing fn's
   * error; storing fn's value as the run's result when JSON can carry it within
   * `maxResultBytes`); a conflict is returned without calling `fn`.
   */
  run<T>(
    key: string,
    fn: (lease: Lease) => T | Promise<T>,
    options?: RunOptions & { fingerprint?: undefined; join?: false },
  ): Promise<Completed<T> | AlreadyRunning | AwaitingApproval | Replayed<Replays, ReplayedRun>>
  /** With a `fingerprint`, a run of another payload holding the key is answered `payload_mismatch`; with `join`, a duplicate answers `joined`. */
  run<T>(key: string, fn: (lease: Lease) => T | Promise<T>, options: RunOptions): Promise<Completed<T> | Conflict | Joined | Replayed<Replays, ReplayedRun>>
  /** Subscribes to guard events; returns the unsubscribe function. Listeners never keep the process alive. */
  onEvent(listener: (event: GuardEvent) => void): () => void
  /**
   * Later calls and pending waits reject with `ERR_TASK_GUARD_CLOSED`. Calls already made
   * to a durable store are still answered; resolves once its file is closed. Idempotent.
   */
  close(): Promise<void>
}
