// Terminal output: tables for people, colour only on a TTY, durations in words.
import type { Env } from '../../common/node-defaults.ts'
import type { Out } from './io.ts'

export type Colour = 'green' | 'red' | 'yellow' | 'dim'

/** Characters a terminal acts on rather than shows: C0 and C1 controls (ESC, BEL, CSI...), DEL, bidi overrides. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex
const CONTROL_IN_JSON = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g
const hex = (c: string, digits: number): string => c.charCodeAt(0).toString(16).padStart(digits, '0')

/** Text that came from another node (or a daemon), safe for a terminal: each control character shown as `\xHH`. */
export function clean (text: string): string {
  return text.replace(CONTROL, c => c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`)
}

/** JSON for scripts, with the control characters JSON.stringify leaves raw escaped too (same values, safe on a terminal). */
export function json (value: unknown): string {
  return JSON.stringify(value, null, 2).replace(CONTROL_IN_JSON, c => `\\u${hex(c, 4)}`) + '\n'
}

/** A function that wraps text in an ANSI colour when `stream` is a terminal and NO_COLOR is not set. */
export function painter (stream: Out, env: Env): (text: string, colour: Colour) => string {
  if (stream.isTTY !== true || env.NO_COLOR !== undefined) return text => text
  return (text, colour) => `\x1b[${{ green: 32, red: 31, yellow: 33, dim: 2 }[colour]}m${text}\x1b[0m`
}

/** Left-aligned columns, two spaces apart, padding measured without colour codes. */
export function table (header: string[], rows: string[][]): string {
  // eslint-disable-next-line no-control-regex
  const width = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map(r => width(r[i] ?? ''))))
  const line = (cells: string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - width(c) + 2)).join('').trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

/** 3725000 → `1h2m`. */
export function duration (ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 > 0 ? `${s % 60}s` : ''}`
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor(s % 3600 / 60) > 0 ? `${Math.floor(s % 3600 / 60)}m` : ''}`
  return `${Math.floor(s / 86400)}d${Math.floor(s % 86400 / 3600) > 0 ? `${Math.floor(s % 86400 / 3600)}h` : ''}`
}

const AGO: Array<[number, string]> = [[365 * 86_400_000, 'year'], [30 * 86_400_000, 'month'], [7 * 86_400_000, 'week'], [86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']]

/** How long ago, as Docker's CREATED says it: `3 hours ago`, `18 months ago` (in the largest unit that counts at least 2, days from 2). */
export function ago (ms: number): string {
  if (ms < 1000) return 'just now'
  for (const [size, unit] of AGO) {
    const n = Math.floor(ms / size)
    if (n >= 2 || size === 1000) return `${n} ${unit}${n === 1 ? '' : 's'} ago`
  }
  return 'just now'
}

/** A one-line spinner on `stderr` while a command waits; silent when it is not a terminal. */
export function progress (stderr: Out, text: string): { done: (final?: string) => void } {
  if (stderr.isTTY !== true) return { done: () => {} }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  let i = 0
  const draw = (): void => { stderr.write(`\r${frames[i++ % frames.length]} ${text}`) }
  draw()
  const timer = setInterval(draw, 80)
  return {
    done: final => {
      clearInterval(timer)
      stderr.write('\r\x1b[K' + (final !== undefined ? final + '\n' : ''))
    }
  }
}
