'use strict'
// `node:timers`' setImmediate as it was when this module loaded: a turn of the
// event loop that no fake timer controls. Test runners' fake timers (Jest's,
// @sinonjs/fake-timers) replace the global setImmediate, and Jest fakes the
// globals of its sandbox, not this module. Null when even this one is a fake
// (@sinonjs/fake-timers marks its fakes with the clock they belong to).

const timers = require('node:timers')

const immediate = typeof timers.setImmediate === 'function' && timers.setImmediate.clock === undefined ? timers.setImmediate : null

module.exports = { immediate }
