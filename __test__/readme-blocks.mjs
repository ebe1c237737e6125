// Helpers for readme.test.mjs: the fenced code blocks of a Markdown file, what
// each is, and how a console transcript's expected output is compared.

/** Languages, by the first word of a fence's info string. */
const KINDS = {
  js: 'js', javascript: 'js', mjs: 'js', cjs: 'js', jsx: 'js',
  ts: 'ts', typescript: 'ts', mts: 'ts', cts: 'ts',
  sh: 'sh', bash: 'sh', shell: 'sh', zsh: 'sh',
  console: 'console', 'shell-session': 'console', 'sh-session': 'console',
  json: 'json',
  yaml: 'yaml', yml: 'yaml',
  '': 'text', text: 'text', txt: 'text', plaintext: 'text', output: 'text',
}

/**
 * Fenced blocks (``` or ~~~, up to three spaces of indent, CommonMark's rule for
 * the closing fence), each with its language, kind, first line of code (1-based),
 * the `##` section it sits in and the prose just before it.
 */
export function extractBlocks(markdown) {
  const lines = markdown.split(/\r?\n/)
  const blocks = []
  let section = ''
  let prose = []
  let paragraph = [] // the last paragraph of prose before a block
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6}\s+(.*)$/.exec(lines[i])
    if (heading && heading[0].startsWith('## ')) section = heading[1].trim()
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i])
    if (!open) {
      if (lines[i].trim() !== '') prose.push(lines[i])
      else if (prose.length) [paragraph, prose] = [prose, []]
      continue
    }
    const [, indent, fence, info] = open
    const code = []
    let j = i + 1
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`)
    for (; j < lines.length && !close.test(lines[j]); j++) {
      code.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart())
    }
    const lang = info.trim().split(/\s+/)[0].toLowerCase()
    blocks.push({ line: i + 1, lang, kind: KINDS[lang] ?? 'unknown', code: code.join('\n'), section, before: (prose.length ? prose : paragraph).join(' ') })
    prose = []
    paragraph = []
    i = j
  }
  return blocks
}

/** The reason a block gives for not being run (`// not run: …`, `# not run here: …`), or null. */
export function notRunReason(block) {
  const m = /^\s*(?:\/\/|#|--|\/\*|<!--)\s*not run(?: here)?:\s*(\S.*?)\s*(?:\*\/|-->)?\s*$/im.exec(block.code)
  return m ? m[1] : null
}

const codeLines = (code) => code.split('\n').filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l))

/** Whether JS code is ESM, CommonJS, or neither (a fragment with no import or require). */
export function moduleKind(code) {
  const lines = codeLines(code)
  if (lines.some((l) => /^\s*(import\s*[\w{*'"]|export\s)/.test(l))) return 'esm'
  if (lines.some((l) => /\brequire\(/.test(l))) return 'cjs'
  return 'none'
}

/** Whether a block is a Jest test (runs under Jest, not plain Node). */
export function isJestTest(code) {
  const lines = codeLines(code).join('\n')
  return /\bexpect\(/.test(lines) && /\b(test|it|describe)\(/.test(lines)
}

/** Untagged text that looks like code or a command: it should carry its language. */
export function looksLikeCode(code) {
  const first = code.split('\n').find((l) => l.trim() !== '') ?? ''
  return /^\s*(\$ |import\s|const\s|let\s|await\s|export\s|require\(|npm\s|npx\s|node\s|git\s|openclaw\s)/.test(first)
}

/** Commands a README's sh block must not run in a test without saying why. */
export const UNSAFE_SH = /\b(npm\s+(install|i|ci|publish|version|run|test)|npx\s+(?!task-guard\b)|git\s+(push|commit|tag|reset|checkout)|curl|wget|sudo|apt(-get)?|openclaw|cargo)\b/

/**
 * A console transcript: `$ command` lines, each followed by its expected output.
 * An output's last line may end with `(exit N)` after two or more spaces: the
 * expected exit code (default 0).
 */
export function parseTranscript(code) {
  const steps = []
  for (const line of code.split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: [], exit: 0 })
    else if (steps.length) steps[steps.length - 1].output.push(line)
    else if (line.trim() !== '' && !line.trimStart().startsWith('#')) throw new Error(`transcript output before any "$ " command: ${line}`)
  }
  for (const s of steps) {
    while (s.output.length && s.output[s.output.length - 1].trim() === '') s.output.pop()
    const last = s.output.length - 1
    const m = last >= 0 ? /^(.*?)\s{2,}\(exit (\d+)\)$/.exec(s.output[last]) : null
    if (m) {
      s.output[last] = m[1]
      s.exit = Number(m[2])
    }
  }
  return steps
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * A regular expression for one line of expected output, where what differs from
 * run to run matches anything of its kind: UUIDs, times in ms or µs (10+ digits),
 * durations (`1s`, `9m59s`, `2h05m`), `<host>:<pid>` owners, and the width of
 * the padding between table columns (two spaces or more).
 */
export function lineMatcher(expected) {
  const parts = expected.trimEnd().split(/( {2,})/)
  const pattern = parts.map((part, i) => {
    if (i % 2 === 1) return ' {2,}'
    return part.split(/(\s+)/).map((token) => {
      if (/^\s+$/.test(token)) return escape(token)
      if (/^[\w.-]+:\d+$/.test(token) && !token.includes('::')) return '\\S+'
      return escape(token)
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
        .replace(/\b\d+(s|m\d\ds|h\d\dm)\b/g, '\\d+(?:s|m\\d\\ds|h\\d\\dm)')
        .replace(/\b\d{10,}\b/g, '\\d+')
    }).join('')
  }).join('')
  return new RegExp(`^${pattern}$`)
}
