'use strict'

const { TaskGuard } = require('./lib/guard')
const { taskKey } = require('./lib/task-key')
const { codes } = require('./lib/errors')

module.exports = { TaskGuard, taskKey, codes }
