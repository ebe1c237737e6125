'use strict'

// `task-guard/openclaw`: the helpers the OpenClaw plugin is built from, each usable on
// its own and without OpenClaw installed. The plugin entry is `task-guard/openclaw/plugin`.

const { configJsonSchema, resolveConfig } = require('./config')
const { formatInspection, taskGuardCommand } = require('./diagnostics')
const { createDispatchGuard, guardTrigger, taskOfMessage, turnFailure } = require('./dispatch-guard')
const { backgroundEnd, backgroundedSession, toolCallEnd } = require('./background-exec')
const { HeldRuns } = require('./held-runs')
const { describeConflict, describeUnavailable } = require('./messages')
const { endOrphans, interruptedStatus, sharedRuntime } = require('./runtime')
const { SPAWN_TOOL, acceptedChild, createSpawnGuard, endedStatus, spawnKey } = require('./spawn-guard')
const { PROCESS_TOOL, createToolGuard, toolKey } = require('./tool-guard')

module.exports = {
  configJsonSchema,
  resolveConfig,
  formatInspection,
  taskGuardCommand,
  createDispatchGuard,
  guardTrigger,
  taskOfMessage,
  turnFailure,
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
}
