'use strict'

// `task-guard/openclaw`: the helpers the OpenClaw plugin is built from, each usable on
// its own and without OpenClaw installed. The plugin entry is `task-guard/openclaw/plugin`.

const { JOIN_HOOK_MARGIN_MS, configJsonSchema, resolveConfig } = require('./config')
const { METRICS_CONTENT_TYPE, formatInspection, metricsEndpoints } = require('./diagnostics')
const { GUARD_STATES, NOT_PERMITTED, operations, runOperation } = require('./operations')
const {
  CHANGED_EVENT,
  GATEWAY_METHODS,
  changeOf,
  commandCaller,
  featureHandlers,
  gatewayCaller,
  gatewayMethods,
  sessionActionCaller,
  taskGuardCommand,
  toolCaller,
} = require('./operator-surfaces')
const { createDispatchGuard, guardTrigger, taskOfMessage, turnFailure } = require('./dispatch-guard')
const { backgroundEnd, backgroundedSession, toolCallEnd } = require('./background-exec')
const { HeldRuns } = require('./held-runs')
const { describeConflict, describeJoined, describeReplay, describeUnavailable } = require('./messages')
const { MAX_RESULT_BYTES, finalText, fitResult, joinRun } = require('./results')
const { endOrphans, interruptedStatus, sharedRuntime } = require('./runtime')
const { SPAWN_TOOL, acceptedChild, createSpawnGuard, endedStatus, spawnKey } = require('./spawn-guard')
const { PROCESS_TOOL, createToolGuard, toolKey } = require('./tool-guard')

module.exports = {
  configJsonSchema,
  resolveConfig,
  JOIN_HOOK_MARGIN_MS,
  formatInspection,
  taskGuardCommand,
  metricsEndpoints,
  METRICS_CONTENT_TYPE,
  operations,
  runOperation,
  GUARD_STATES,
  NOT_PERMITTED,
  GATEWAY_METHODS,
  CHANGED_EVENT,
  changeOf,
  commandCaller,
  toolCaller,
  gatewayCaller,
  sessionActionCaller,
  gatewayMethods,
  featureHandlers,
  createDispatchGuard,
  guardTrigger,
  taskOfMessage,
  turnFailure,
  HeldRuns,
  describeConflict,
  describeJoined,
  describeReplay,
  describeUnavailable,
  MAX_RESULT_BYTES,
  finalText,
  fitResult,
  joinRun,
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
