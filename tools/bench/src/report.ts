/** Markdown rendering of bench results. */
import type { RsBenchResult, VariantId } from './rs/types.ts'
import type { AimResult, MachineInfo, Spread } from './stats.ts'

const fmt = (n: number): string => (Number.isFinite(n) ? n.toLocaleString('en-US') : 'n/a')
const noise = (s: Spread): string => `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}`
const pct = (ratio: number): string =>
  Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)} %` : 'n/a'

export function renderAim(aim: AimResult): string {
  const sign = aim.marginPoints >= 0 ? '+' : ''
  return `${aim.met ? '**met**' : '**missed**'} — ${aim.aim}: ${aim.actualPercent} % (${sign}${aim.marginPoints} points)`
}

export function renderMachine(machine: MachineInfo, loadAfter?: readonly number[]): string {
  return [
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores; memory ${machine.memoryGiB} GiB (${machine.freeMemoryGiB} GiB free)`,
    `- Node ${machine.node} (${machine.platform})`,
    `- load average before: ${machine.loadAverage.join(', ')}${loadAfter ? `; after: ${loadAfter.join(', ')}` : ''}`,
  ].join('\n')
}

export function renderRsMarkdown(result: RsBenchResult): string {
  const ids: VariantId[] = ['A', 'B', 'C']
  const c = result.config
  const lines = [
    `### Resource server: authorized MCP tools/call (echo) over HTTP${result.quick ? ' — QUICK smoke run, figures not meaningful' : ''}`,
    '',
    `${c.connections} connections, ${fmt(c.count)} requests per run, ${fmt(c.warmup)} warm-up, ${c.repeats} repeats interleaved; load from a separate process; JSON responses. Noise = min / median / max over repeats.`,
    '',
    '| variant | req/s (min / median / max) | p50 ms | p99 ms | server CPU µs/req | vs A |',
    '|---|---:|---:|---:|---:|---:|',
  ]
  for (const id of ids) {
    const v = result.variants[id]
    const vsA =
      id === 'A'
        ? '—'
        : `A/${id} req/s ${pct((id === 'B' ? result.ratios.A_over_B_rps : result.ratios.A_over_C_rps).median)}`
    lines.push(
      `| ${id}: ${v.label} | ${noise(v.rps)} | ${fmt(v.p50_ms.median)} | ${fmt(v.p99_ms.median)} (${fmt(v.p99_ms.min)}–${fmt(v.p99_ms.max)}) | ${fmt(v.server_cpu_us_per_req.median)} | ${vsA} |`,
    )
  }
  lines.push(
    '',
    `Ratios per repeat (min / median / max): A/B req/s ${noise(result.ratios.A_over_B_rps)}; A/C req/s ${noise(result.ratios.A_over_C_rps)}; A/B p99 ${noise(result.ratios.A_over_B_p99)}; A/C p99 ${noise(result.ratios.A_over_C_p99)}`,
    '',
    `Server CPU per request (less sensitive to other load on the machine), requests per CPU-second of A relative to B: ${pct(result.ratios.A_over_B_cpu_efficiency.median)} (${noise(result.ratios.A_over_B_cpu_efficiency)}); relative to C: ${pct(result.ratios.A_over_C_cpu_efficiency.median)} (${noise(result.ratios.A_over_C_cpu_efficiency)})`,
    '',
    ...result.aims.map((aim) => `- ${renderAim(aim)}`),
    '',
    '#### Concurrency curve (A, one short run per point)',
    '',
    '| connections | requests | req/s | p50 ms | p99 ms | errors |',
    '|---:|---:|---:|---:|---:|---:|',
    ...result.curve.map(
      (p) =>
        `| ${p.connections} | ${fmt(p.count)} | ${fmt(p.rps)} | ${fmt(p.p50_ms)} | ${fmt(p.p99_ms)} | ${p.errors} |`,
    ),
    '',
    `#### Two A instances (two processes, two ports, load split by connection) vs one, ${result.instances.connections} connections`,
    '',
    '| | req/s (min / median / max) | p99 ms (min / median / max) |',
    '|---|---:|---:|',
    `| one instance | ${noise(result.instances.one.rps)} | ${noise(result.instances.one.p99_ms)} |`,
    `| two instances | ${noise(result.instances.two.rps)} | ${noise(result.instances.two.p99_ms)} |`,
    '',
    `two/one req/s: ${noise(result.instances.two_over_one_rps)} (on ${result.machine.cores} cores shared with the load generator)`,
    '',
    `Errors: ${result.errors}${result.firstError ? ` (first: ${result.firstError})` : ''}. Run took ${result.seconds} s.`,
  )
  return lines.join('\n')
}
