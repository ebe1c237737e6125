/**
 * `task-guard/openclaw`: the helpers the OpenClaw plugin is built from, usable without
 * OpenClaw installed (ESM and CommonJS); the plugin entry is `task-guard/openclaw/plugin`. Event and context types name only the fields the helpers read; OpenClaw's
 * own (richer) hook types are assignable to them — checked against openclaw@2026.9.6.
 */
import type { AcquireResult, AlreadyCompleted, AlreadyRunning, AwaitingApproval, Conflict, GuardInfo, Inspection, Lease, Outcome, ReleaseStatus, RunOptions, TaskGuard } from '../index'

export type GetGuard = () => TaskGuard<boolean> | Promise<TaskGuard<boolean>>

/** The plugin's settings (`plugins.entries.task-guard.config`), as in openclaw.plugin.json. */
export interface TaskGuardPluginConfig {
  /** Default `sqlite:<OpenClaw state dir>/task-guard/guards.db`. */
  store?: string
  /** Default `'openclaw'`. */
  namespace?: string
  /** Default 600000. */
  ttlMs?: number
  /** Default ttlMs / 3. */
  heartbeatMs?: number
  /** Default `'heal'`. */
  onStale?: 'heal' | 'fail'
  /**
   * For this long (ms) after a guarded run succeeded, the same task is answered with that
   * run's result instead of running again; every key the plugin guards. Default 0 (off),
   * at most 604800000.
   */
  replayMs?: number
  spawn?: {
    enabled?: boolean
    acceptTimeoutMs?: number
    /** A duplicate spawn while the child runs: `'answer'` at once (default) or `'join'`: wait and get the child's result. */
    onDuplicate?: DuplicatePolicy
    /** Longest wait of a joining duplicate, ms. Default 120000, at most 595000. */
    joinTimeoutMs?: number
  }
  tools?: Array<{ tool: string; keyParam: string; ttlMs?: number; onError?: 'allow' | 'block' }>
  dispatch?: {
    tasks?: Array<{
      match: string
      flags?: string
      task: string
      /** A duplicate message while the task's turn runs: `'answer'` at once (default) or `'join'`: wait and answer with its result. */
      onDuplicate?: DuplicatePolicy
      /** Longest wait of a joining duplicate, ms. Default 120000, at most 280000. */
      joinTimeoutMs?: number
    }>
    maxTurnMs?: number
  }
}

export type DuplicatePolicy = 'answer' | 'join'

export interface ResolvedConfig {
  store: string
  namespace: string
  ttlMs: number
  heartbeatMs: number
  onStale: 'heal' | 'fail'
  replayMs: number
  spawn: { enabled: boolean; acceptTimeoutMs: number; onDuplicate: DuplicatePolicy; joinTimeoutMs: number }
  tools: ToolRule[]
  dispatch: { tasks: DispatchRule[]; maxTurnMs: number }
}

export interface ToolRule {
  tool: string
  keyParam: string
  ttlMs?: number
  onError?: 'allow' | 'block'
}

export interface DispatchRule {
  match: RegExp
  task: string
  /** Default `'answer'`. */
  onDuplicate?: DuplicatePolicy
  /** Default 120000. */
  joinTimeoutMs?: number
}

export declare const configJsonSchema: Record<string, unknown>
/** A joining spawn's before_tool_call is registered with this much more timeout than its wait. */
export declare const JOIN_HOOK_MARGIN_MS: number
/** Throws `ERR_TASK_GUARD_INVALID_ARG` on settings the schema cannot catch (bad regexes, names). */
export declare function resolveConfig(raw: TaskGuardPluginConfig | undefined, options: { stateDir: string }): ResolvedConfig

export interface ToolCallEvent {
  toolName: string
  params: Record<string, unknown>
  toolCallId?: string
}
export interface AfterToolCallEvent extends ToolCallEvent {
  result?: unknown
  error?: string
}
export interface ToolContext {
  sessionKey?: string
  agentId?: string
  toolCallId?: string
  /** The tool call's abort: ends a joining duplicate's wait. */
  abortSignal?: AbortSignal
}
export interface BlockDecision {
  block: true
  blockReason: string
}
export interface SubagentEndedEvent {
  targetSessionKey: string
  reason: string
  outcome?: 'ok' | 'error' | 'timeout' | 'killed' | 'reset' | 'deleted'
  error?: string
}
export interface DispatchEvent {
  content: string
  body?: string
  sessionKey?: string
  messageId?: string
  /** When the message arrived (ms, or s on some channels). */
  timestamp?: number
}
export interface DispatchContext {
  sessionKey?: string
  messageId?: string
  channelId?: string
}
export interface AgentEndEvent {
  runId?: string
  messages: unknown[]
  success: boolean
  error?: string
}
export interface AgentEndContext {
  sessionKey?: string
  runId?: string
}
export interface ReplyPayloadSendingEvent {
  payload: { text?: string; [field: string]: unknown }
  runId?: string
}

/** Stamped on every run the plugin takes (`meta.gateway`, `meta.process`). */
export interface RunOrigin {
  /** The gateway across restarts: its host and state directory. */
  gateway: string
  /** This gateway process. */
  process: string
}

/** Keeps held runs alive with one timer; retries releases the store could not take. */
export declare class HeldRuns {
  constructor(getGuard: GetGuard, options: { heartbeatMs: number; onError?: (err: Error, run: { key: string; runId: string }) => void })
  readonly size: number
  stop(): void
  /** Stops holding that run (another path released it). */
  forget(key: string, runId: string): void
  /** Ends the held runs `which` selects (default all) with `status`. */
  endAll(status: ReleaseStatus, error?: string, which?: (held: { key: string; runId: string }, id: string) => boolean): Promise<void>
  /** Asks the probes of the held runs `which` selects now (see background commands); releases those that ended. */
  probe(which: (held: { key: string; runId: string; [info: string]: unknown }) => boolean): Promise<void>
  /** One heartbeat round, for hosts that drive time themselves. */
  beat(): Promise<void>
}

export declare const SPAWN_TOOL: 'sessions_spawn'
/** `<sessionKey>::<taskName>`, or null when the spawn names no task. */
export declare function spawnKey(params: Record<string, unknown> | undefined, sessionKey: string | undefined): string | null
/** ok → succeeded; error, timeout → failed; killed, reset, deleted, unknown → cancelled. */
export declare function endedStatus(event: { outcome?: string; error?: string }): ReleaseStatus
export declare function acceptedChild(result: unknown): { childSessionKey: string; runId: string | null } | null

export interface SubagentProgressEvent {
  phase: 'started' | 'ended'
  childSessionKey: string
  outcome?: 'ok' | 'error' | 'timeout' | 'killed' | 'unknown'
}
export interface SpawnGuard {
  beforeToolCall(event: ToolCallEvent, ctx: ToolContext): Promise<BlockDecision | undefined>
  afterToolCall(event: AfterToolCallEvent, ctx: ToolContext): Promise<void>
  subagentEnded(event: SubagentEndedEvent): Promise<void>
  /** Phase `ended` releases the child's run at once (every runtime and spawn mode). */
  subagentProgress(event: SubagentProgressEvent): Promise<void>
  /** `agent_end` of a child's session: a success releases the child's run with its final text as the result. */
  agentEnd(event: AgentEndEvent, ctx: AgentEndContext): Promise<void>
}
export declare function createSpawnGuard(options: {
  getGuard: GetGuard
  held: HeldRuns
  ttlMs?: number
  acceptTimeoutMs?: number
  /** Default `'answer'`; `'join'`: a duplicate waits for the child and is blocked with its result. */
  onDuplicate?: DuplicatePolicy
  /** Default 120000. */
  joinTimeoutMs?: number
  origin?: RunOrigin
}): SpawnGuard

export declare function toolKey(rule: ToolRule, params: Record<string, unknown> | undefined, sessionKey: string | undefined): string | null
/** The tool OpenClaw's agents check and stop background commands with; watched when `exec` is guarded. */
export declare const PROCESS_TOOL: 'process'
export interface ToolGuard {
  /** The tools to match: the rules' tools, and `process` when `exec` is guarded. */
  readonly tools: string[]
  beforeToolCall(event: ToolCallEvent, ctx: ToolContext): Promise<BlockDecision | undefined>
  /** Releases a finished call by outcome; an exec that went to the background stays held until its command ends. */
  afterToolCall(event: AfterToolCallEvent, ctx: ToolContext): Promise<void>
  /** A command of `sessionKey` ended (OpenClaw's `exec.process.completed`): checks its background runs now. */
  commandEnded(sessionKey: string): Promise<void>
}
/** The part of OpenClaw's `api.runtime.tasks` the tool guard reads. */
export interface TaskRegistryLike {
  async?: { runs?: { bindSession(binding: { sessionKey: string }): { resolve(token: string): Promise<{ status: string; error?: string; terminalSummary?: string } | undefined> } } }
}
export declare function createToolGuard(options: {
  getGuard: GetGuard
  held: HeldRuns
  rules: ToolRule[]
  ttlMs?: number
  resultTimeoutMs?: number
  origin?: RunOrigin
  /** OpenClaw's `api.runtime.tasks`, where a background command's end is recorded. */
  getTasks?: () => TaskRegistryLike | undefined
  /** How a run whose end was lost is ended. Default `'cancelled'`. */
  interrupted?: 'cancelled' | 'failed'
}): ToolGuard
export type RunEnd = { status: ReleaseStatus; error?: string }
/** The process session of an exec that went to the background, or null. */
export declare function backgroundedSession(result: unknown): { sessionId: string; pid: number | null } | null
/** A finished call's release: an error, a failed command or a non-zero exit fails it by `rule.onError`. */
export declare function toolCallEnd(event: AfterToolCallEvent, rule: ToolRule): RunEnd
/** A background command's release from its OpenClaw task status, or undefined while it runs. */
export declare function backgroundEnd(task: { status: string; error?: string; terminalSummary?: string }, rule: ToolRule, interrupted: 'cancelled' | 'failed'): RunEnd | undefined

export type TriggerAnswer<T> =
  | { handled: true; key: string; conflict: Conflict; text: string }
  | {
      handled: false
      key: string
      lease: Lease
      outcome: Promise<{ status: 'succeeded'; value: T } | { status: 'failed'; error: unknown }>
    }
/**
 * Takes `sessionKey::task` at trigger time; if free, `start(lease)` enqueues the work
 * and returns a promise of its end (heartbeated meanwhile, released by outcome).
 */
export declare function guardTrigger<T>(
  guard: TaskGuard<boolean>,
  options: RunOptions & { sessionKey: string; task: string; label?: string },
  start: (lease: Lease) => T | Promise<T>,
): Promise<TriggerAnswer<T>>
export declare function taskOfMessage(rules: DispatchRule[], text: unknown): string | null

export interface DispatchGuard {
  beforeDispatch(event: DispatchEvent, ctx: DispatchContext): Promise<{ handled: true; text: string } | undefined>
  /** A duplicate's answer on the webchat, as a side answer that is not written to the transcript. */
  replyPayloadSending(event: ReplyPayloadSendingEvent): { payload: ReplyPayloadSendingEvent['payload'] & { btw: { question: string } } } | undefined
  /** Finds the turn's runs in the store (by message id or prompt) and releases them by outcome (see {@link turnFailure}). */
  agentEnd(event: AgentEndEvent, ctx: AgentEndContext): Promise<void>
  /**
   * A turn starts: with a joining rule, its guarded runs become joinable. OpenClaw resuming a
   * turn a restart interrupted: the turn's run, left by the earlier process, is adopted by this run.
   */
  beforeAgentRun(event: { prompt: string }, ctx: AgentEndContext): Promise<undefined>
}
/** Why a turn failed, or null: `success` false, or a last assistant message with `stopReason: 'error'` (a failed model call). */
export declare function turnFailure(event: AgentEndEvent): string | null
export declare function createDispatchGuard(options: {
  getGuard: GetGuard
  held: HeldRuns
  rules: DispatchRule[]
  ttlMs?: number
  maxTurnMs?: number
  /** Duplicates answered, by message id; shared by every registration in the process. */
  answered?: Map<string, string>
  /** Turn runs whose turn has started (joinable); shared by every registration in the process. */
  started?: Set<string>
  /** The last joinable turn run of each key that ended; a message that arrived while it ran is its duplicate. */
  ended?: Map<string, { runId: string; startedAt: number; endedAt: number }>
  origin?: RunOrigin
}): DispatchGuard
/** The rule a message matches, or null. */
export declare function ruleOfMessage(rules: DispatchRule[], text: unknown): DispatchRule | null

/** The runtime every registration of the plugin in this process shares, per store. */
export interface SharedRuntime {
  getGuard(): Promise<TaskGuard<boolean>>
  held: HeldRuns
  origin: RunOrigin
  answered: Map<string, string>
  started: Set<string>
  ended: Map<string, { runId: string; startedAt: number; endedAt: number }>
  close(): Promise<void>
}
export declare function sharedRuntime(
  config: ResolvedConfig,
  options: { stateDir: string; open: (config: ResolvedConfig) => Promise<TaskGuard<boolean>>; log?: { warn?: (msg: string) => void } },
): SharedRuntime
/** How a run ends when its gateway stops first: as staleness would (`'heal'` → cancelled, `'fail'` → failed). */
export declare function interruptedStatus(onStale: 'heal' | 'fail'): 'cancelled' | 'failed'
/** Ends the runs an earlier process of this gateway held; returns them. */
export declare function endOrphans(guard: TaskGuard<boolean>, origin: RunOrigin, status: ReleaseStatus): Promise<GuardInfo[]>

export declare function describeConflict(conflict: Conflict | AlreadyCompleted, what: string): string
/** A duplicate within `replayMs` of a success, answered with its result. */
export declare function describeReplay(done: AlreadyCompleted, what: string): string
/** A joining duplicate's answer from the outcome it waited for. */
export declare function describeJoined(outcome: Outcome, what: string, options: { key: string; waitedMs: number }): string
/** The largest result the plugin stores, in bytes of JSON (its guard's `maxResultBytes`). */
export declare const MAX_RESULT_BYTES: number
/** A turn's final assistant text from `agent_end` messages, or null (none, or silent). */
export declare function finalText(messages: unknown): string | null
/** `text` cut to store as JSON within `maxBytes` (default {@link MAX_RESULT_BYTES}). */
export declare function fitResult(text: string, maxBytes?: number): string
/** Waits (at most `waitMs`) for the run holding the key to end; the duplicate's answer. */
export declare function joinRun(getGuard: GetGuard, conflict: AlreadyRunning, what: string, options: { waitMs: number; signal?: AbortSignal }): Promise<string>
export declare function describeUnavailable(err: Error & { code?: string }, what: string): string
/** `more(next)`: the command shown for the next page (default `/taskguard more <next> [prefix]`). */
export declare function formatInspection(inspection: Inspection, options?: { prefix?: string; more?: (next: string) => string }): string

/** Prometheus text exposition's content type (format 0.0.4). */
export declare const METRICS_CONTENT_TYPE: string
/** Handlers for the gateway's HTTP route (GET → the metrics text) and RPC method (`{ contentType, text }`). */
export declare function metricsEndpoints(options: { getGuard: GetGuard }): {
  httpHandler(req: { method?: string }, res: { statusCode: number; setHeader(name: string, value: string): unknown; end(body?: string): unknown }): Promise<true>
  gatewayMethod(opts: { respond: (ok: boolean, payload?: unknown, error?: { code: string; message: string }) => void }): Promise<void>
}

/**
 * `/taskguard [list [state] [session]]` (50 guards a page), `/taskguard more <cursor> [state] [session]`,
 * `/taskguard show|approve|release <task or key>` (a bare task name is this session's), `/taskguard metrics`.
 * A sender who is not an owner (`senderIsOwner`) sees and acts on its own session's guards only.
 */
export declare function taskGuardCommand(options: { getGuard: GetGuard }): {
  name: 'taskguard'
  description: string
  acceptsArgs: true
  requireAuth: true
  handler(ctx: { args?: string; channel: string; senderId?: string; sessionKey?: string; senderIsOwner?: boolean }): Promise<{ text: string }>
}

/** Who runs an operation: `session` limits it to that session's keys (null: every key); `by` is recorded on writes. */
export interface OperationCaller {
  session: string | null
  /** The session a bare task name belongs to when `session` is null (an owner's chat). */
  home?: string | null
  by: string
}
export type GuardState = 'running' | 'stale' | 'failed' | 'approved'
/** A guard as the operations answer it: `inspect()`'s fields, and the key's session and task. */
export type OperationGuard = GuardInfo & { session: string | null; task: string }
export interface OperationInputs {
  list: { state?: GuardState; session?: string; limit?: number; after?: string }
  show: { key?: string; task?: string }
  approve: { key?: string; task?: string; reason?: string }
  'force-release': { key?: string; task?: string; reason?: string }
}
export interface OperationOutputs {
  list: { now: number; guards: OperationGuard[]; counts: Record<GuardState, number>; next: string | null }
  show: { now: number; key: string; guard: OperationGuard | null }
  approve: ({ status: 'approved'; key: string; failedRunId: string; approvedAt: number; nextAttempt: number } | { status: 'not_failed'; key: string }) & { by: string }
  'force-release': ({ status: 'released'; key: string; runId: string; endedAt: number } | { status: 'not_running'; key: string }) & { by: string }
}
export type OperationName = keyof OperationInputs
/** The operations: kind (`query`: operator.read, `action`: operator.write), JSON Schemas, the agent tool a query is offered as. */
export declare const operations: Record<OperationName, { kind: 'query' | 'action'; description: string; input: object; output: object; tool?: { name: string; label: string } }>
/** Runs an operation for `caller`; bad input rejects with ERR_TASK_GUARD_INVALID_ARG, a key outside the caller's session with ERR_TASK_GUARD_NOT_PERMITTED, before anything changes. */
export declare function runOperation<K extends OperationName>(getGuard: GetGuard, name: K, input: OperationInputs[K], caller: OperationCaller): Promise<OperationOutputs[K]>
export declare const GUARD_STATES: readonly GuardState[]
export declare const NOT_PERMITTED: 'ERR_TASK_GUARD_NOT_PERMITTED'
/** The gateway method of each operation and the operator scope it needs. */
export declare const GATEWAY_METHODS: Record<OperationName, { method: string; scope: 'operator.read' | 'operator.write' }>
export declare const CHANGED_EVENT: 'changed'
export declare function changeOf(event: { type: string; key: string }): { type: string; key: string } | null
/** A chat sender: an owner sees every session, anyone else the command's session. */
export declare function commandCaller(ctx: { channel?: string; senderId?: string; sessionKey?: string; senderIsOwner?: boolean }): OperationCaller
/** The agent: its own session. */
export declare function toolCaller(ctx: { sessionKey?: string; agentId?: string }): OperationCaller
/** A gateway client whose scope the gateway checked: every session. */
export declare function gatewayCaller(client: unknown): OperationCaller
export declare function sessionActionCaller(action: { client?: { connId?: string } }): OperationCaller
export declare function gatewayMethods(options: { getGuard: GetGuard }): { method: string; scope: string; handler(opts: { params?: unknown; client?: unknown; respond: (ok: boolean, payload?: unknown, error?: unknown) => void }): Promise<void> }[]
export declare function featureHandlers(options: { getGuard: GetGuard; operations: typeof operations }): Record<OperationName, (input: unknown, context: { source: string; tool?: unknown; command?: unknown; action?: unknown }) => Promise<unknown>>

export type { AcquireResult }
