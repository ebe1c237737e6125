'use strict'

const { TaskGuard } = require('./lib/guard')
const { taskKey } = require('./lib/task-key')
const { fingerprint } = require('./lib/fingerprint')
const { codes } = require('./lib/errors')

module.exports = { TaskGuard, taskKey, codes, fingerprint }
