'use strict'
// The names napi-rs gives each prebuilt binary (`task-guard-<name>` on npm, a folder
// under npm/). package.json's napi.targets is the build list; a test keeps the two equal.

const PREBUILT = Object.freeze([
  'darwin-arm64',
  'darwin-x64',
  'linux-arm64-gnu',
  'linux-arm64-musl',
  'linux-x64-gnu',
  'linux-x64-musl',
  'win32-arm64-msvc',
  'win32-x64-msvc',
])

/** musl has no glibc version in the diagnostic report; asked only when a load failed. */
function isMusl() {
  if (!process.report || typeof process.report.getReport !== 'function') return false
  process.report.excludeNetwork = true
  const report = process.report.getReport()
  return !(report && report.header && report.header.glibcVersionRuntime)
}

/** This process's binary name in napi-rs's scheme, e.g. `linux-x64-gnu`. */
function currentPlatform() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

module.exports = { PREBUILT, currentPlatform }
