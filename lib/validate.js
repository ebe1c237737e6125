'use strict'
// Type checks for what the native layer cannot see (JS types, unknown option
// names, AbortSignals, meta serialisation). Ranges and byte limits are checked
// once, in Rust.

const { invalidArg } = require('./errors')

const MAX_DURATION_MS = 2_147_483_647

function describe(v) {
  if (v === null) return 'null'
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  if (typeof v === 'number') return `number ${v}`
  return typeof v
}

/** `opts` must be undefined or a plain object naming only `allowed` options. */
function options(name, opts, allowed) {
  if (opts === undefined) return undefined
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw invalidArg(`${name} must be an object, not ${describe(opts)}`)
  }
  for (const k in opts) {
    if (!allowed.has(k)) {
      throw invalidArg(`${name}: unknown option ${JSON.stringify(k)} (known: ${[...allowed].join(', ')})`)
    }
  }
  return opts
}

function string(name, v) {
  if (typeof v !== 'string') throw invalidArg(`${name} must be a string, not ${describe(v)}`)
  return v
}

function optionalString(name, v) {
  return v === undefined ? undefined : string(name, v)
}

/** A whole number of milliseconds in [min, MAX_DURATION_MS]; undefined passes. */
function duration(name, v, min) {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_DURATION_MS) {
    throw invalidArg(`${name} must be an integer from ${min} to ${MAX_DURATION_MS} (ms), not ${describe(v)}`)
  }
  return v
}

function signal(name, v) {
  if (v === undefined) return undefined
  if (typeof AbortSignal === 'undefined' || !(v instanceof AbortSignal)) {
    throw invalidArg(`${name} must be an AbortSignal, not ${describe(v)}`)
  }
  return v
}

function func(name, v) {
  if (typeof v !== 'function') throw invalidArg(`${name} must be a function, not ${describe(v)}`)
  return v
}

/** Meta is stored as JSON text; anything JSON cannot carry is refused, not mangled. */
function meta(v) {
  if (v === undefined) return undefined
  let text
  try {
    text = JSON.stringify(v)
  } catch (e) {
    throw invalidArg(`meta must be JSON-serialisable: ${e.message}`)
  }
  if (text === undefined) throw invalidArg(`meta must be JSON-serialisable, not ${describe(v)}`)
  return text
}

/** A failure's error text: a string, or an Error's message. */
function errorText(v) {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  if (v instanceof Error) return v.message || v.name
  throw invalidArg(`error must be a string or an Error, not ${describe(v)}`)
}

module.exports = { options, string, optionalString, duration, signal, func, meta, errorText, MAX_DURATION_MS }
