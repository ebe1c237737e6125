// `task-guard/openclaw`: the OpenClaw plugin (default export) and the helpers it is
// built from, each usable on its own.

export { default, PLUGIN_ID, registerTaskGuard } from './plugin.mjs'
export { configJsonSchema, resolveConfig } from './config.mjs'
export { formatInspection, taskGuardCommand } from './diagnostics.mjs'
export { createDispatchGuard, guardTrigger, taskOfMessage } from './dispatch-guard.mjs'
export { HeldRuns } from './held-runs.mjs'
export { describeConflict, describeUnavailable } from './messages.mjs'
export { SPAWN_TOOL, acceptedChild, createSpawnGuard, endedStatus, spawnKey } from './spawn-guard.mjs'
export { createToolGuard, toolKey } from './tool-guard.mjs'
