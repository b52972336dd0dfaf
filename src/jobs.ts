import type { FastifyBaseLogger } from 'fastify'

export interface Job {
  /** Runs the task now (waiting for a run in progress first). */
  runNow(): Promise<void>
  stop(): Promise<void>
}

/** Runs `task` every `intervalMs`, never two runs at once; a failed run is logged and retried next time. */
export function every(intervalMs: number, name: string, log: FastifyBaseLogger, task: () => Promise<unknown>): Job {
  let running: Promise<void> = Promise.resolve()
  let stopped = false
  const run = () => {
    running = running.then(async () => {
      if (stopped) return
      try {
        await task()
      } catch (error) {
        log.warn({ err: error, job: name }, 'background job failed; retrying at the next interval')
      }
    })
    return running
  }
  const timer = setInterval(() => void run(), intervalMs)
  timer.unref()
  return {
    runNow: run,
    stop: async () => {
      stopped = true
      clearInterval(timer)
      await running
    },
  }
}
