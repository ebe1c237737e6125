'use strict'
// The addon, through napi-rs's generated loader (binding.js: this checkout's own
// build first, then the platform package). When it finds nothing its message
// blames an npm bug; this one names the platform, the package that carries its
// binary, and what to do.

const path = require('node:path')
const { codedError, codes } = require('./errors')
const { PREBUILT, currentPlatform } = require('./platform')
const { name, version } = require('../package.json')

/** The project whose node_modules holds this package (where to run npm install), or null. */
function projectDir() {
  const pkgDir = path.resolve(__dirname, '..')
  const parent = path.dirname(pkgDir)
  if (path.basename(parent) === 'node_modules') return path.dirname(parent)
  // A scoped install: <project>/node_modules/@scope/<name>
  if (path.basename(path.dirname(parent)) === 'node_modules') return path.dirname(path.dirname(parent))
  return null
}

function noBinary(loadError) {
  const platform = currentPlatform()
  const pkg = `${name}-${platform}`
  const project = projectDir()
  let message
  if (!PREBUILT.includes(platform)) {
    message =
      `${name} has no prebuilt binary for ${platform} (there is no package ${pkg}). ` +
      `Prebuilt: ${PREBUILT.join(', ')}. Elsewhere, build it from a checkout with a Rust toolchain: npm ci && npm run build.`
  } else {
    let reason = null
    try {
      require(pkg)
    } catch (err) {
      reason = err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(`'${pkg}'`) ? null : err.message
    }
    message =
      reason === null
        ? `${name} found no native binary for ${platform}: it ships in the optional dependency ${pkg}, which is not installed ` +
          `(installs with --omit=optional, or a lockfile written on another platform, leave it out). ` +
          `Install it${project ? ` in the project that holds ${name} (${project})` : ''}: ` +
          `${project ? `cd ${JSON.stringify(project)} && ` : ''}npm install ${pkg}@${version}`
        : `${name} found ${pkg} installed, but its binary for ${platform} failed to load: ${reason}`
  }
  const err = codedError(codes.NO_BINARY, message)
  err.platform = platform
  err.package = pkg
  err.projectDir = project
  err.cause = loadError
  return err
}

function load() {
  try {
    return require('../binding.js')
  } catch (err) {
    throw noBinary(err)
  }
}

module.exports = load()
