// `task-guard/openclaw` for ESM: the same helpers as index.js (one implementation).
import helpers from './index.js'

export const {
  configJsonSchema,
  resolveConfig,
  formatInspection,
  taskGuardCommand,
  createDispatchGuard,
  guardTrigger,
  taskOfMessage,
  HeldRuns,
  describeConflict,
  describeUnavailable,
  endOrphans,
  interruptedStatus,
  sharedRuntime,
  SPAWN_TOOL,
  acceptedChild,
  createSpawnGuard,
  endedStatus,
  spawnKey,
  createToolGuard,
  toolKey,
  PROCESS_TOOL,
  backgroundEnd,
  backgroundedSession,
  toolCallEnd,
} = helpers
