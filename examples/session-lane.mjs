// A stand-in for a gateway's session lane: one task at a time, later triggers
// queue behind the running one (as OpenClaw's per-session command queue does).
export class SessionLane {
  #tail = Promise.resolve()
  enqueue(task) {
    const run = this.#tail.then(task)
    this.#tail = run.catch(() => {})
    return run
  }
}

export const work = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
