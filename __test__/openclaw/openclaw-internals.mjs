// OpenClaw's pieces the suite drives. Public subpath exports are used where they
// exist; the command queue and the plugin loader are not exported, so they are found
// by their function names in the bundled dist chunks, and a version that moves them
// fails here with a message saying what to update, instead of with a random error.

import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

// The package exports no ./package.json; its folder is the one holding the plugin SDK.
const sdkEntry = createRequire(import.meta.url).resolve('openclaw/plugin-sdk/plugin-entry')
export const openclawDir = path.resolve(path.dirname(sdkEntry), '../..')
const pkgJson = path.join(openclawDir, 'package.json')
export const openclawVersion = JSON.parse(readFileSync(pkgJson, 'utf8')).version
const dist = path.join(openclawDir, 'dist')

/** The export named `name` (by its function name) of a dist chunk whose file starts with `chunkPrefix`. */
export async function locate(name, chunkPrefix) {
  const files = readdirSync(dist).filter((f) => f.endsWith('.mjs'))
  const find = async (chunks) => {
    for (const f of chunks) {
      const mod = await import(pathToFileURL(path.join(dist, f)).href)
      const found = Object.values(mod).find((v) => typeof v === 'function' && v.name === name)
      if (found) return found
    }
    return undefined
  }
  const found =
    (await find(files.filter((f) => f.startsWith(chunkPrefix)))) ??
    // A renamed chunk: any chunk that defines the function.
    (await find(files.filter((f) => readFileSync(path.join(dist, f), 'utf8').includes(`function ${name}(`))))
  if (found) return found
  throw new Error(
    `openclaw@${openclawVersion}: cannot find ${name}() in dist/${chunkPrefix}*.mjs or any other dist chunk. ` +
      'OpenClaw has moved or renamed it; update __test__/openclaw/openclaw-internals.mjs for this version.',
  )
}

export const enqueueCommandInLane = await locate('enqueueCommandInLane', 'command-queue-')
export const setCommandLaneConcurrency = await locate('setCommandLaneConcurrency', 'command-queue-')
export const loadPluginRegistryHandle = await locate('loadPluginRegistryHandle', 'loader-')

const hookRuntime = await import('openclaw/plugin-sdk/hook-runtime')
const harness = await import('openclaw/plugin-sdk/agent-harness-runtime')
export const { initializeGlobalHookRunner, resetGlobalHookRunner } = hookRuntime
export const { getAgentHarnessHookRunner, wrapToolWithBeforeToolCallHook, runAgentHarnessAfterToolCallHook } = harness
