/** Markdown rendering of bench results. */
import type { RsBenchResult, VariantId } from './rs/types.ts'
import type { AimResult, MachineInfo, Spread } from './stats.ts'
import type { ExchangeBenchResult, ExchangeVariantId } from './types.ts'

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
    `#### Cost curve: ${result.scaleServer}, one instance (min / median / max over ${c.repeats} repeats)`,
    '',
    '| connections | requests | req/s | p50 ms | p99 ms | errors |',
    '|---:|---:|---:|---:|---:|---:|',
    ...result.curve.map(
      (p) =>
        `| ${p.connections} | ${fmt(p.count)} | ${noise(p.rps)} | ${noise(p.p50_ms)} | ${noise(p.p99_ms)} | ${p.errors} |`,
    ),
    '',
    `#### Two instances vs one: ${result.scaleServer}; two processes on two ports, the load generator spreading ${result.instances.connections} connections`,
    '',
    '| | req/s (min / median / max) | p50 ms | p99 ms (min / median / max) | server CPU µs/req |',
    '|---|---:|---:|---:|---:|',
    `| one instance | ${noise(result.instances.one.rps)} | ${fmt(result.instances.one.p50_ms.median)} | ${noise(result.instances.one.p99_ms)} | ${fmt(result.instances.one.server_cpu_us_per_req.median)} |`,
    `| two instances | ${noise(result.instances.two.rps)} | ${fmt(result.instances.two.p50_ms.median)} | ${noise(result.instances.two.p99_ms)} | ${fmt(result.instances.two.server_cpu_us_per_req.median)} |`,
    '',
    `two/one req/s: ${noise(result.instances.two_over_one_rps)}. ${result.instances.note}`,
    '',
    `Errors: ${result.errors}${result.firstError ? ` (first: ${result.firstError})` : ''}. Run took ${result.seconds} s.`,
  )
  return lines.join('\n')
}

export function renderExchangeMarkdown(result: ExchangeBenchResult): string {
  const c = result.config
  const ids: ExchangeVariantId[] = ['exchange', 'client_credentials']
  const r = result.ratios
  return [
    `### Authorization server: token exchange rate beside client-credentials issuance${result.quick ? ' — QUICK smoke run, figures not meaningful' : ''}`,
    '',
    `${result.setup}. ${c.connections} connections, ${fmt(c.count)} requests per run, ${fmt(c.warmup)} warm-up, ${c.repeats} repeats interleaved; a fresh DPoP proof per request. Noise = min / median / max over repeats.`,
    '',
    '| grant | req/s (min / median / max) | p50 ms | p99 ms (min–max) | AS CPU µs/req |',
    '|---|---:|---:|---:|---:|',
    ...ids.map((id) => {
      const v = result.variants[id]
      return `| ${v.label} | ${noise(v.rps)} | ${fmt(v.p50_ms.median)} | ${fmt(v.p99_ms.median)} (${fmt(v.p99_ms.min)}–${fmt(v.p99_ms.max)}) | ${fmt(v.server_cpu_us_per_req.median)} |`
    }),
    '',
    `Exchange ÷ client credentials per repeat (min / median / max): req/s ${noise(r.exchange_over_cc_rps)} (median ${pct(r.exchange_over_cc_rps.median)}); p50 ${noise(r.exchange_over_cc_p50)}; p99 ${noise(r.exchange_over_cc_p99)}; AS CPU per request ${noise(r.exchange_over_cc_cpu_per_req)}.`,
    '',
    `Errors: ${result.errors}${result.firstError ? ` (first: ${result.firstError})` : ''}. Run took ${result.seconds} s.`,
  ].join('\n')
}
