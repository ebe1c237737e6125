'use strict'

/** Stable `error.code` values; the native layer throws the same strings. */
const codes = Object.freeze({
  INVALID_ARG: 'ERR_TASK_GUARD_INVALID_ARG',
  CLOSED: 'ERR_TASK_GUARD_CLOSED',
  STORE_UNAVAILABLE: 'ERR_TASK_GUARD_STORE_UNAVAILABLE',
  STORE_CORRUPT: 'ERR_TASK_GUARD_STORE_CORRUPT',
  STORE_VERSION: 'ERR_TASK_GUARD_STORE_VERSION',
  /** Thrown on import when no native binary loads on this platform. */
  NO_BINARY: 'ERR_TASK_GUARD_NO_BINARY',
  /** The abort reason of a lease whose run was lost. */
  LOST: 'ERR_TASK_GUARD_LOST',
})

function codedError(code, message) {
  const err = new Error(message)
  err.code = code
  return err
}

const invalidArg = (message) => codedError(codes.INVALID_ARG, message)
const closedError = () => codedError(codes.CLOSED, 'the guard is closed')

/** Node's shape for an aborted operation (as `timers/promises` rejects). */
function abortError(signal) {
  const err = new Error('The operation was aborted', { cause: signal.reason })
  err.name = 'AbortError'
  err.code = 'ABORT_ERR'
  return err
}

module.exports = { codes, codedError, invalidArg, closedError, abortError }
