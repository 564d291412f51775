/** Prometheus text exposition (format 0.0.4) of the launcher's counters. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export class EnclaveMetrics {
  readonly #byStatus = new Map<number, number>()
  readonly #bucketCounts = BUCKETS.map(() => 0)
  #sum = 0
  #count = 0
  workerRestarts = 0
  workerUp = false

  observeDispatch(status: number, seconds: number): void {
    this.#byStatus.set(status, (this.#byStatus.get(status) ?? 0) + 1)
    this.#sum += seconds
    this.#count += 1
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.#bucketCounts[i] = (this.#bucketCounts[i] ?? 0) + 1
    })
  }

  render(): string {
    const lines: string[] = []
    lines.push('# HELP dauth_enclave_dispatch_total Dispatch requests by HTTP status.')
    lines.push('# TYPE dauth_enclave_dispatch_total counter')
    for (const [status, n] of [...this.#byStatus].sort((a, b) => a[0] - b[0])) {
      lines.push(`dauth_enclave_dispatch_total{status="${status}"} ${n}`)
    }
    lines.push(
      '# HELP dauth_enclave_dispatch_duration_seconds Dispatch latency seen by the launcher.',
    )
    lines.push('# TYPE dauth_enclave_dispatch_duration_seconds histogram')
    BUCKETS.forEach((le, i) =>
      lines.push(
        `dauth_enclave_dispatch_duration_seconds_bucket{le="${le}"} ${this.#bucketCounts[i] ?? 0}`,
      ),
    )
    lines.push(`dauth_enclave_dispatch_duration_seconds_bucket{le="+Inf"} ${this.#count}`)
    lines.push(`dauth_enclave_dispatch_duration_seconds_sum ${this.#sum}`)
    lines.push(`dauth_enclave_dispatch_duration_seconds_count ${this.#count}`)
    lines.push(
      '# HELP dauth_enclave_worker_restarts_total Worker processes restarted after an exit.',
    )
    lines.push('# TYPE dauth_enclave_worker_restarts_total counter')
    lines.push(`dauth_enclave_worker_restarts_total ${this.workerRestarts}`)
    lines.push('# HELP dauth_enclave_worker_up 1 when the worker is ready.')
    lines.push('# TYPE dauth_enclave_worker_up gauge')
    lines.push(`dauth_enclave_worker_up ${this.workerUp ? 1 : 0}`)
    return `${lines.join('\n')}\n`
  }
}
