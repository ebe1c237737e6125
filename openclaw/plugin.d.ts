/** `task-guard/openclaw/plugin`: the OpenClaw plugin entry (needs `openclaw` installed). */
import type { TaskGuard } from '../index'
import type { DispatchGuard, HeldRuns, ResolvedConfig, SpawnGuard, ToolGuard, taskGuardCommand } from './index'

export declare const PLUGIN_ID: 'task-guard'
/** `GET` (gateway auth): the guard's metrics as Prometheus text. */
export declare const METRICS_PATH: '/api/plugins/task-guard/metrics'
/** Gateway RPC method (scope operator.read) answering `{ contentType, text }`. */
export declare const METRICS_METHOD: 'taskguard.metrics'

/** The OpenClaw api surface the plugin uses (OpenClawPluginApi satisfies it). */
export interface PluginApiLike {
  /** The registering plugin's id: the feature operations (session actions, agent tools) are registered only under 'task-guard'. */
  id?: string
  pluginConfig?: Record<string, unknown>
  logger?: { info?: (msg: string) => void; warn?: (msg: string) => void; error?: (msg: string) => void }
  on(hookName: any, handler: any, opts?: any): void
  registerCommand(command: ReturnType<typeof taskGuardCommand>): void
  /** `'full'` for the gateway's own registration: only it registers the metrics route and method. */
  registrationMode?: string
  registerHttpRoute?(params: { path: string; auth: 'gateway' | 'plugin'; match?: 'exact' | 'prefix'; handler: (req: any, res: any) => Promise<boolean | void> | boolean | void }): void
  registerGatewayMethod?(method: string, handler: (opts: any) => Promise<void> | void, opts?: { scope?: any }): void
}

/** The guard operations (list, show, approve, force-release) as an OpenClaw feature contract, and the `changed` event. */
export declare const FEATURE_CONTRACT: {
  pluginId: 'task-guard'
  operations: Record<'list' | 'show' | 'approve' | 'force-release', { kind: 'query' | 'action'; description: string; input: object; output: object; tool?: { name: string; label?: string } }>
  events: Record<'changed', object>
}

export declare function registerTaskGuard(
  api: PluginApiLike,
  options?: { stateDir?: string },
): { config: ResolvedConfig; getGuard: () => Promise<TaskGuard<boolean>>; held: HeldRuns; spawn: SpawnGuard | null; tools: ToolGuard | null; dispatch: DispatchGuard | null }

/** The plugin entry, as `definePluginEntry` returns it. */
declare const plugin: {
  id: 'task-guard'
  name: string
  description: string
  readonly configSchema: unknown
  register(api: PluginApiLike): void
}
export default plugin
