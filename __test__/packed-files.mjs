// The files `npm pack` ships from the repository, and a copy of them: the package
// as a user receives it, for the tests that stage it (install, OpenClaw, tarball).

import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Paths relative to the repository, sorted. */
export function packedFiles() {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    shell: process.platform === 'win32',
  })
  if (r.status !== 0) throw new Error(`npm pack --dry-run failed (${r.status}): ${r.stderr}`)
  return JSON.parse(r.stdout)[0].files.map((f) => f.path).sort()
}

/** Copies the packed files into `dest`, keeping their paths; returns them. */
export function copyPacked(dest, extra = []) {
  const files = [...packedFiles(), ...extra]
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dest, f)), { recursive: true })
    copyFileSync(path.join(root, f), path.join(dest, f))
  }
  return files
}
