'use strict'
// Checks for what the native layer cannot see: JS types, unknown option names,
// AbortSignals, meta serialisation, values whose reading throws (getters,
// Proxies), and strings that are not well-formed UTF-16 (napi turns a lone
// surrogate into U+FFFD, so 'job\uD83D', 'job\uD83E' and 'job\uFFFD' would be
// one key). Ranges, byte limits and shapes (run ids, store URLs) are checked
// once, in Rust.

const { types } = require('node:util')
const { invalidArg } = require('./errors')

const MAX_DURATION_MS = 2_147_483_647

/** A short, never-throwing description of a value for messages. */
function describe(v) {
  if (v === null) return 'null'
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  if (typeof v === 'number') return `number ${v}`
  if (typeof v === 'bigint') return `bigint ${v}n`
  return typeof v
}

/** `f()`, its throw turned into ERR_TASK_GUARD_INVALID_ARG with the thrown value as `cause`. */
function read(what, f) {
  try {
    return f()
  } catch (err) {
    throw invalidArg(`${what} could not be read: ${thrownText(err)}`, { cause: err })
  }
}

const nameLists = new WeakMap()

/** The names of an option set, as an array (cheaper to walk than the Set, per call). */
function namesOf(allowed) {
  let names = nameLists.get(allowed)
  if (names === undefined) {
    names = [...allowed]
    nameLists.set(allowed, names)
  }
  return names
}

/**
 * `opts` must be undefined or a plain object naming only `allowed` options.
 * Returns a copy holding the allowed options that are set, read once each: a
 * getter or Proxy trap that throws becomes ERR_TASK_GUARD_INVALID_ARG (its
 * error as `cause`) here, before anything changes, and cannot answer
 * differently later.
 */
function options(name, opts, allowed) {
  if (opts === undefined) return undefined
  if (opts === null || typeof opts !== 'object') throw invalidArg(`${name} must be an object, not ${describe(opts)}`)
  let out = null
  let unknown
  let reading = 'its option names'
  try {
    if (!Array.isArray(opts)) {
      for (const k in opts) {
        if (!allowed.has(k)) {
          unknown = k
          break
        }
      }
      if (unknown === undefined) {
        out = {}
        const names = namesOf(allowed)
        for (let i = 0; i < names.length; i++) {
          reading = names[i]
          const v = opts[reading]
          if (v !== undefined) out[reading] = v
        }
      }
    }
  } catch (err) {
    throw invalidArg(`${name} could not be read (${reading}): ${thrownText(err)}`, { cause: err })
  }
  if (unknown !== undefined) {
    throw invalidArg(`${name}: unknown option ${JSON.stringify(unknown)} (known: ${[...allowed].join(', ')})`)
  }
  if (out === null) throw invalidArg(`${name} must be an object, not an array`)
  return out
}

// A lone (unpaired) surrogate, matched per UTF-16 code unit.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** A string of well-formed UTF-16: a lone surrogate has no UTF-8 form and would be stored as U+FFFD. */
function string(name, v) {
  if (typeof v !== 'string') throw invalidArg(`${name} must be a string, not ${describe(v)}`)
  if (!v.isWellFormed()) {
    throw invalidArg(`${name} must be well-formed UTF-16: it has a lone surrogate at index ${v.search(LONE_SURROGATE)}`)
  }
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

/** An AbortSignal (a Proxy of one works too), and whether it is aborted already. */
function signal(name, v) {
  if (v === undefined) return undefined
  if (typeof AbortSignal === 'undefined' || !read(name, () => v instanceof AbortSignal)) {
    throw invalidArg(`${name} must be an AbortSignal, not ${describe(v)}`)
  }
  read(name, () => v.aborted)
  return v
}

function func(name, v) {
  if (typeof v !== 'function') throw invalidArg(`${name} must be a function, not ${describe(v)}`)
  return v
}

/**
 * Meta is stored as JSON text; anything JSON cannot carry is refused, not mangled.
 * JSON.stringify escapes lone surrogates (`\ud83d`), so such strings in meta are
 * kept exactly and come back from inspect as given.
 */
function meta(v) {
  return json('meta', v)
}

/** A value already turned into JSON text once (run() stores its task's value so): not stringified again. */
class JsonText {
  constructor(text) {
    this.text = text
  }
}

/** `v` as JSON text (undefined for undefined); what JSON cannot carry is refused, with what threw as `cause`. */
function json(name, v) {
  if (v === undefined) return undefined
  if (v instanceof JsonText) return v.text
  let text
  try {
    text = JSON.stringify(v)
  } catch (e) {
    throw invalidArg(`${name} must be JSON-serialisable: ${thrownText(e)}`, { cause: e })
  }
  if (text === undefined) throw invalidArg(`${name} must be JSON-serialisable, not ${describe(v)}`)
  return text
}

/** `f()`, or undefined if it throws. */
function attempt(f) {
  try {
    return f()
  } catch {
    return undefined
  }
}

function describeThrown(v) {
  if (typeof v === 'string') return v
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return String(v)
  // An Error of any realm, or anything else with a message.
  const message = attempt(() => v.message)
  if (typeof message === 'string' && message !== '') return message
  if (typeof message === 'number' || typeof message === 'boolean' || typeof message === 'bigint') return String(message)
  if (attempt(() => types.isNativeError(v) || v instanceof Error)) {
    const name = attempt(() => v.name)
    if (typeof name === 'string' && name !== '') return name
  }
  const str = attempt(() => String(v))
  if (typeof str === 'string' && str !== '' && !str.startsWith('[object ')) return str
  const json = attempt(() => JSON.stringify(v))
  if (typeof json === 'string' && json !== '{}') return json
  if (typeof str === 'string' && str !== '') return str
  const tag = attempt(() => Object.prototype.toString.call(v))
  return typeof tag === 'string' ? tag : 'a thrown value that cannot be shown'
}

/**
 * What a thrown value says, as text: an Error's message (of any realm),
 * another object's message, JSON or string form, a primitive's string form.
 * Never throws. Lone surrogates become U+FFFD: it is a description, not an identity.
 */
function thrownText(v) {
  let text
  try {
    text = describeThrown(v)
  } catch {
    text = 'a thrown value that cannot be shown'
  }
  return text.toWellFormed()
}

/** A failure's error text: whatever was thrown, described; undefined for none. */
function errorText(v) {
  return v === undefined ? undefined : thrownText(v)
}

/** An optional boolean option. */
function boolean(name, v) {
  if (v !== undefined && typeof v !== 'boolean') throw invalidArg(`${name} must be a boolean, not ${describe(v)}`)
  return v
}

module.exports = { options, string, optionalString, duration, signal, func, meta, json, JsonText, boolean, attempt, errorText, thrownText, describe, MAX_DURATION_MS }
