'use strict'
// For this package's own tests: moves a memory store's clock forward so runs
// go stale without sleeping. Not part of the public API.

const native = require('../binding.js')
const { handleOf } = require('./guard')

function advanceClock(guard, ms) {
  native.guardAdvanceClock(handleOf(guard), ms)
}

module.exports = { advanceClock }
