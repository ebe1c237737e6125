/**
 * `task-guard/openclaw`: the OpenClaw plugin (default export) and the helpers it is
 * built from. Event and context types name only the fields the helpers read; OpenClaw's
 * own (richer) hook types are assignable to them — checked against openclaw@2026.9.6.
 */
import type { AcquireResult, AlreadyRunning, AwaitingApproval, Conflict, Inspection, Lease, ReleaseStatus, RunOptions, TaskGuard } from '../index'

export type GetGuard = () => TaskGuard | Promise<TaskGuard>

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
  spawn?: { enabled?: boolean; acceptTimeoutMs?: number }
  tools?: Array<{ tool: string; keyParam: string; ttlMs?: number; onError?: 'allow' | 'block' }>
  dispatch?: { tasks?: Array<{ match: string; flags?: string; task: string }>; maxTurnMs?: number }
}

export interface ResolvedConfig {
  store: string
  namespace: string
  ttlMs: number
  heartbeatMs: number
  onStale: 'heal' | 'fail'
  spawn: { enabled: boolean; acceptTimeoutMs: number }
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
}

export declare const configJsonSchema: Record<string, unknown>
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
}
export interface DispatchContext {
  sessionKey?: string
  messageId?: string
}
export interface AgentEndEvent {
  messages: unknown[]
  success: boolean
  error?: string
}

/** Keeps held runs alive with one timer; retries releases the store could not take. */
export declare class HeldRuns {
  constructor(getGuard: GetGuard, options: { heartbeatMs: number; onError?: (err: Error, run: { key: string; runId: string }) => void })
  readonly size: number
  stop(): void
  /** One heartbeat round, for hosts that drive time themselves. */
  beat(): Promise<void>
}

export declare const SPAWN_TOOL: 'sessions_spawn'
/** `<sessionKey>::<taskName>`, or null when the spawn names no task. */
export declare function spawnKey(params: Record<string, unknown> | undefined, sessionKey: string | undefined): string | null
/** ok → succeeded; error, timeout → failed; killed, reset, deleted → cancelled. */
export declare function endedStatus(event: Pick<SubagentEndedEvent, 'outcome' | 'error'>): ReleaseStatus
export declare function acceptedChild(result: unknown): { childSessionKey: string; runId: string | null } | null

export interface SpawnGuard {
  beforeToolCall(event: ToolCallEvent, ctx: ToolContext): Promise<BlockDecision | undefined>
  afterToolCall(event: AfterToolCallEvent, ctx: ToolContext): Promise<void>
  subagentEnded(event: SubagentEndedEvent): Promise<void>
}
export declare function createSpawnGuard(options: { getGuard: GetGuard; held: HeldRuns; ttlMs?: number; acceptTimeoutMs?: number }): SpawnGuard

export declare function toolKey(rule: ToolRule, params: Record<string, unknown> | undefined, sessionKey: string | undefined): string | null
export interface ToolGuard {
  readonly tools: string[]
  beforeToolCall(event: ToolCallEvent, ctx: ToolContext): Promise<BlockDecision | undefined>
  afterToolCall(event: AfterToolCallEvent, ctx: ToolContext): Promise<void>
}
export declare function createToolGuard(options: { getGuard: GetGuard; held: HeldRuns; rules: ToolRule[]; ttlMs?: number; resultTimeoutMs?: number }): ToolGuard

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
  guard: TaskGuard,
  options: RunOptions & { sessionKey: string; task: string; label?: string },
  start: (lease: Lease) => T | Promise<T>,
): Promise<TriggerAnswer<T>>
export declare function taskOfMessage(rules: DispatchRule[], text: unknown): string | null

export interface DispatchGuard {
  beforeDispatch(event: DispatchEvent, ctx: DispatchContext): Promise<{ handled: true; text: string } | undefined>
  agentEnd(event: AgentEndEvent, ctx: { sessionKey?: string }): Promise<void>
}
export declare function createDispatchGuard(options: { getGuard: GetGuard; held: HeldRuns; rules: DispatchRule[]; ttlMs?: number; maxTurnMs?: number }): DispatchGuard

export declare function describeConflict(conflict: AlreadyRunning | AwaitingApproval, what: string): string
export declare function describeUnavailable(err: Error & { code?: string }, what: string): string
export declare function formatInspection(inspection: Inspection): string

/** `/taskguard [list [prefix]]`, `/taskguard approve <key>`. */
export declare function taskGuardCommand(options: { getGuard: GetGuard }): {
  name: 'taskguard'
  description: string
  acceptsArgs: true
  requireAuth: true
  handler(ctx: { args?: string; channel: string; senderId?: string }): Promise<{ text: string }>
}

export declare const PLUGIN_ID: 'task-guard'

/** The OpenClaw api surface the plugin uses (OpenClawPluginApi satisfies it). */
export interface PluginApiLike {
  pluginConfig?: Record<string, unknown>
  logger?: { warn?: (msg: string) => void; error?: (msg: string) => void }
  on(hookName: any, handler: any, opts?: any): void
  registerCommand(command: ReturnType<typeof taskGuardCommand>): void
}

export declare function registerTaskGuard(
  api: PluginApiLike,
  options?: { stateDir?: string },
): { config: ResolvedConfig; getGuard: () => Promise<TaskGuard>; held: HeldRuns; spawn: SpawnGuard | null; tools: ToolGuard | null; dispatch: DispatchGuard | null }

/** The plugin entry, as `definePluginEntry` returns it. */
declare const plugin: {
  id: 'task-guard'
  name: string
  description: string
  readonly configSchema: unknown
  register(api: PluginApiLike): void
}
export default plugin
export type { AcquireResult }
