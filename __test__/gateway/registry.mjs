// A loopback npm registry serving a fixed set of tarballs: the packument of each
// package (its versions' package.json plus dist.tarball / integrity / shasum) and the
// tarballs themselves; every other package is a 404, so nothing leaks to the internet.

import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'

function manifestOf(tgz) {
  return JSON.parse(execFileSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }))
}

/**
 * Serves `tarballs` (paths of .tgz files) on 127.0.0.1. Resolves to `{ url, requests, close }`;
 * `url` ends with '/', `requests` lists the paths asked for.
 */
export async function startRegistry(tarballs) {
  const files = new Map() // tarball file name -> bytes
  const packuments = new Map()
  const requests = []
  let base = ''
  for (const tgz of tarballs) {
    const bytes = readFileSync(tgz)
    const name = path.basename(tgz)
    files.set(name, bytes)
    const pkg = manifestOf(tgz)
    const doc = packuments.get(pkg.name) ?? { name: pkg.name, 'dist-tags': {}, versions: {}, time: {} }
    doc.versions[pkg.version] = {
      ...pkg,
      _id: `${pkg.name}@${pkg.version}`,
      dist: {
        tarballName: name,
        shasum: createHash('sha1').update(bytes).digest('hex'),
        integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
      },
    }
    doc['dist-tags'].latest = pkg.version
    // Older than any minimum release age a client may enforce.
    doc.time[pkg.version] = new Date(Date.now() - 30 * 86_400_000).toISOString()
    doc.time.modified = doc.time[pkg.version]
    packuments.set(pkg.name, doc)
  }

  const packument = (name) => {
    const doc = packuments.get(name)
    const versions = Object.fromEntries(
      Object.entries(doc.versions).map(([v, { dist: { tarballName, ...dist }, ...m }]) => [
        v,
        { ...m, dist: { ...dist, tarball: `${base}${encodeURIComponent(name).replace('%40', '@')}/-/${tarballName}` } },
      ]),
    )
    return { ...doc, versions }
  }

  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname).slice(1)
    requests.push(url)
    const send = (status, body, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type })
      res.end(body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, '{"error":"read-only registry"}')
    const dash = url.indexOf('/-/')
    if (dash >= 0) {
      const bytes = files.get(url.slice(dash + 3))
      if (bytes && packuments.has(url.slice(0, dash))) return send(200, bytes, 'application/octet-stream')
    } else if (packuments.has(url)) {
      return send(200, JSON.stringify(packument(url)))
    }
    send(404, '{"error":"Not found"}')
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  base = `http://127.0.0.1:${server.address().port}/`
  return {
    url: base,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}
