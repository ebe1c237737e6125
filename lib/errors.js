'use strict'

/** Stable `error.code` values (lib/contract.json; the native layer throws the same strings). */
const { codes } = require('./contract')

/** `options.cause`, when given (even as `undefined`), becomes the error's `cause`. */
function codedError(code, message, options) {
  const err = new Error(message, options)
  err.code = code
  return err
}

const invalidArg = (message, options) => codedError(codes.INVALID_ARG, message, options)

/**
 * An error the native layer threw, as an `Error` of this module's realm: the addon
 * makes its errors in the realm that loaded it, and a test runner's sandbox (Jest's
 * vm context) has an `Error` of its own, so `instanceof Error` would fail there.
 * Outside such a sandbox the error is already this realm's and is returned as is.
 */
function fromNative(err) {
  if (err instanceof Error) return err
  const e = new Error(String(err?.message ?? err), { cause: err })
  if (err?.code !== undefined) e.code = err.code
  return e
}
const closedError = () => codedError(codes.CLOSED, 'the guard is closed')

/** Node's shape for an aborted operation (as `timers/promises` rejects). */
function abortError(signal) {
  const err = new Error('The operation was aborted', { cause: signal.reason })
  err.name = 'AbortError'
  err.code = 'ABORT_ERR'
  return err
}

module.exports = { codes, codedError, invalidArg, closedError, abortError, fromNative }
