/**
 * `task-guard/testing`: a clock for tests. `new TaskGuard({ clock })` (memory store)
 * reads it before every call, and `run()` heartbeats on its timers.
 */
export interface ManualClock {
  /** The time, in ms since the epoch. */
  (): number
  /** Moves the time forward by `ms`, firing due timers (run() heartbeats) in order; returns the new time. */
  advance(ms: number): number
  /** Jumps to `ms` (forward fires due timers; back does not); returns it. */
  set(ms: number): number
  setInterval(fn: () => void, ms: number): number
  clearInterval(id: number): void
  /** Timers waiting on this clock. */
  readonly pending: number
}

/** A clock that stands still until told, starting at `startMs` (default: now). */
export declare function manualClock(startMs?: number): ManualClock
