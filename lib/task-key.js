'use strict'

const { invalidArg } = require('./errors')

/** `<sessionKey>::<taskName>`: OpenClaw session keys use single colons, so `::` is unambiguous. */
function taskKey(sessionKey, taskName) {
  if (typeof sessionKey !== 'string' || sessionKey === '') {
    throw invalidArg('taskKey: sessionKey must be a non-empty string')
  }
  if (typeof taskName !== 'string' || taskName === '') {
    throw invalidArg('taskKey: taskName must be a non-empty string')
  }
  if (!sessionKey.isWellFormed() || !taskName.isWellFormed()) {
    // A lone surrogate has no UTF-8 form: stored as U+FFFD, two different keys would be one.
    throw invalidArg('taskKey: sessionKey and taskName must be well-formed UTF-16 (no lone surrogates)')
  }
  if (taskName.includes('::')) {
    throw invalidArg("taskKey: taskName must not contain '::'")
  }
  return `${sessionKey}::${taskName}`
}

module.exports = { taskKey }
