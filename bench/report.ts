/** The self-contained HTML report: tables and inline SVG charts, no script, no external resource. */
const COLORS: Record<string, string> = {
  floor: '#7f7f7f',
  'floor-coalesced': '#2b2b2b',
  'floor-persist': '#bcbd22',
  socketio: '#d62728',
  natter: '#1f77b4',
  'natter-pg': '#17becf',
  'natter-rpg': '#2ca02c',
  'natter-rpg-2': '#9467bd',
};
const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en') : v.toLocaleString('en', { maximumFractionDigits: 3 })) : v === null || v === undefined ? '–' : String(v));

interface Series {
  name: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

const W = 640;
const H = 320;
const M = { l: 70, r: 150, t: 30, b: 45 };

function niceTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
    }
    return out;
  }
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const s = [1, 2, 5, 10].map((m) => m * step).find((x) => span / x <= 6)!;
  const out: number[] = [];
  for (let v = Math.ceil(min / s) * s; v <= max + 1e-9; v += s) out.push(v);
  return out;
}

const short = (v: number) => (Math.abs(v) >= 1e6 ? `${v / 1e6}M` : Math.abs(v) >= 1e3 ? `${v / 1e3}k` : `${Math.round(v * 1000) / 1000}`);

export function lineChart(o: { title: string; x: string; y: string; series: Series[]; xLog?: boolean; yLog?: boolean; xTicks?: Array<[number, string]>; yZero?: boolean }): string {
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.yLog || y > 0) && (!o.xLog || x > 0));
  if (pts.length === 0) return '';
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (o.yZero && !o.yLog) y0 = 0;
  if (x0 === x1) [x0, x1] = o.xLog ? [x0 / 2, x1 * 2] : [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = o.yLog ? [y0 / 2, y1 * 2] : [y0 - 1, y1 + 1];
  if (o.yLog) [y0, y1] = [10 ** Math.floor(Math.log10(y0)), 10 ** Math.ceil(Math.log10(y1))];
  const f = (v: number, lo: number, hi: number, log?: boolean) => (log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo));
  const X = (v: number) => M.l + f(v, x0, x1, o.xLog) * (W - M.l - M.r);
  const Y = (v: number) => H - M.b - f(v, y0, y1, o.yLog) * (H - M.t - M.b);
  const xt = o.xTicks ?? niceTicks(x0, x1, Boolean(o.xLog)).map((v) => [v, short(v)] as [number, string]);
  const yt = niceTicks(y0, y1, Boolean(o.yLog));
  let svg = `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="11">`;
  svg += `<text x="${M.l}" y="18" font-size="13" font-weight="600">${esc(o.title)}</text>`;
  for (const v of yt) svg += `<line x1="${M.l}" x2="${W - M.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e5e5e5"/><text x="${M.l - 6}" y="${Y(v) + 4}" text-anchor="end">${short(v)}</text>`;
  for (const [v, label] of xt) svg += `<line x1="${X(v)}" x2="${X(v)}" y1="${M.t}" y2="${H - M.b}" stroke="#f0f0f0"/><text x="${X(v)}" y="${H - M.b + 15}" text-anchor="middle">${esc(label)}</text>`;
  svg += `<rect x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#999"/>`;
  svg += `<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" text-anchor="middle">${esc(o.x)}</text>`;
  svg += `<text transform="translate(14 ${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.y)}</text>`;
  o.series.forEach((s, i) => {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.yLog || y > 0) && (!o.xLog || x > 0));
    const color = COLORS[s.name.split(' ')[0]!] ?? ['#17becf', '#bcbd22', '#8c564b', '#e377c2'][i % 4]!;
    if (p.length) {
      svg += `<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${p.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`;
      for (const [x, y] of p) svg += `<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${color}"><title>${esc(s.name)}: ${fmt(x)}, ${fmt(y)}</title></circle>`;
    }
    svg += `<line x1="${W - M.r + 10}" x2="${W - M.r + 28}" y1="${M.t + 8 + i * 16}" y2="${M.t + 8 + i * 16}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/><text x="${W - M.r + 32}" y="${M.t + 12 + i * 16}">${esc(s.name)}</text>`;
  });
  return `${svg}</svg>`;
}

export function barChart(o: { title: string; unit: string; bars: Array<{ label: string; value: number }> }): string {
  const bars = o.bars.filter((b) => Number.isFinite(b.value));
  if (bars.length === 0) return '';
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const rowH = 24;
  const h = 34 + bars.length * rowH + 10;
  const left = 130;
  const width = W - left - 90;
  let svg = `<svg viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${esc(o.title)}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="11">`;
  svg += `<text x="4" y="18" font-size="13" font-weight="600">${esc(o.title)}</text>`;
  bars.forEach((b, i) => {
    const y = 30 + i * rowH;
    const wv = Math.max(1, (b.value / max) * width);
    svg += `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text><rect x="${left}" y="${y}" width="${wv.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[b.label] ?? '#17becf'}"/><text x="${left + wv + 4}" y="${y + 14}">${fmt(b.value)} ${esc(o.unit)}</text>`;
  });
  return `${svg}</svg>`;
}

const QTICKS: Array<[number, string]> = [
  [2, '50%'],
  [10, '90%'],
  [100, '99%'],
  [1000, '99.9%'],
  [10000, '99.99%'],
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function renderReport(r: any): string {
  const runs: any[] = r.runs;
  const medians: Record<string, Record<string, number>> = r.summary.medians;
  const targets = Object.keys(medians);
  const firstRun = (t: string) => runs.find((x) => x.target === t && !x.error);
  const headline = (run: any) => run?.phases.find((p: any) => p.phase === 'open loop 50%') ?? run?.phases.filter((p: any) => p.latency_ms.p95 <= 500).at(-1) ?? run?.phases.at(-1);
  const charts: string[] = [];
  // Latency distribution (percentile spectrum) at the headline phase, first run of each target.
  const spectrum = targets.map((t) => ({ name: t, points: ((headline(firstRun(t))?.latency_ms.spectrum ?? []) as Array<[number, number]>).map(([q, v]) => [1 / (1 - q), v] as [number, number]) }));
  charts.push(lineChart({ title: 'One-way latency distribution (headline phase, run 1)', x: 'percentile', y: 'ms (log)', series: spectrum, xLog: true, yLog: true, xTicks: QTICKS }));
  const acks = targets.map((t) => ({ name: t, points: ((headline(firstRun(t))?.ack_ms?.spectrum ?? []) as Array<[number, number]>).map(([q, v]) => [1 / (1 - q), v] as [number, number]) })).filter((s) => s.points.length);
  if (acks.length) charts.push(lineChart({ title: 'Ack latency after commit (headline phase, run 1)', x: 'percentile', y: 'ms (log)', series: acks, xLog: true, yLog: true, xTicks: QTICKS }));
  // Latency against throughput, every measured phase.
  const lvt = targets.flatMap((t) => {
    const ph = (firstRun(t)?.phases ?? []).filter((p: any) => p.phase !== 'warm-up').sort((x: any, y: any) => x.deliveries_per_s - y.deliveries_per_s);
    return [
      { name: `${t} p99`, points: ph.map((p: any) => [p.deliveries_per_s, p.latency_ms.p99]) },
      { name: `${t} p50`, points: ph.map((p: any) => [p.deliveries_per_s, p.latency_ms.p50]), dashed: true },
    ];
  });
  if (r.workload === 'W2') {
    const byClients = targets.flatMap((t) => [
      { name: `${t} p95`, points: (firstRun(t)?.phases ?? []).map((p: any) => [Number(/^(\d+)/.exec(p.phase)?.[1]), p.latency_ms.p95]) },
    ]);
    charts.push(lineChart({ title: 'p95 latency by clients in the room (run 1)', x: 'clients', y: 'ms (log)', series: byClients, yLog: true }));
  } else charts.push(lineChart({ title: 'Latency against throughput (run 1; solid p99, dashed p50)', x: 'deliveries/s', y: 'ms (log)', series: lvt as Series[], yLog: true }));
  // Throughput over time in the first measured phase.
  const tl = targets.map((t) => ({ name: t, points: (firstRun(t)?.phases[0]?.timeline ?? []) as Array<[number, number]> }));
  charts.push(lineChart({ title: `Throughput over time: ${firstRun(targets[0] ?? '')?.phases[0]?.phase ?? ''} (run 1)`, x: 's', y: 'deliveries/s', series: tl, yZero: true }));
  // Headline medians as bars.
  const figures = [...new Set(targets.flatMap((t) => Object.keys(medians[t] ?? {})))];
  const barOf = (k: string, unit: string) => barChart({ title: `${k} (median of runs)`, unit, bars: targets.map((t) => ({ label: t, value: medians[t]?.[k] ?? NaN })) });
  for (const k of figures.filter((k) => /max_deliveries|capacity_deliveries|cpu_us|rss_kib|max_clients|capacity_msgs|half_ack_p99|p99_ms$/.test(k))) charts.push(barOf(k, /cpu_us/.test(k) ? 'µs' : /rss_kib/.test(k) ? 'KiB' : /ms$/.test(k) ? 'ms' : ''));

  const table = (head: string[], rows: unknown[][]) => `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((c) => `<td>${typeof c === 'string' && c.startsWith('<') ? c : esc(fmt(c))}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  const checks = r.summary.checks as Array<{ target: string; figure: string; value: number; goal: string; pass: boolean | null }>;
  const badge = (p: boolean | null, goal: string) => (goal.startsWith('info') ? '<span>info</span>' : p === null ? '<span class="na">n/a</span>' : p ? '<span class="ok">met</span>' : '<span class="miss">missed</span>');
  const phases = runs.flatMap((run) => (run.error ? [[run.target, run.run, 'error', run.error, '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '']] : run.phases.map((p: any) => [run.target, run.run, p.phase, p.offered_msgs_per_s, p.msgs_per_s, p.deliveries_per_s, p.latency_ms.p50, p.latency_ms.p99, p.ack_ms?.p99 ?? null, p.server_cpu_us_per_delivery, p.server_cpu_util, p.server_syscalls_per_delivery ?? null, p.server_bytes_written_per_delivery ?? null, p.disk ? `${p.disk.stalls} / ${p.disk.max_ms}` : '', p.steal_ms ?? null, p.commits ? `${p.commits.msgs_per_commit} / ${p.commits.mean_ms}` : '', p.server ? `≤ ${p.server.ack_p99_le_ms} / ≤ ${p.server.commit_p99_le_ms}` : '', p.server ? `${p.server.loop_delay_p99_ms} / ${p.server.loop_delay_max_ms}` : '', `${p.expected}/${p.received}`, `${p.lost}/${p.duplicated}`])));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>natter bench ${esc(r.workload)} ${esc(r.started)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;padding:0 16px;color:#222}table{border-collapse:collapse;margin:8px 0 20px;font-size:12px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}.ok{color:#1a7f37;font-weight:600}.miss{color:#cf222e;font-weight:600}.na{color:#888}svg{display:block;margin:10px 0 18px;max-width:100%;height:auto}code{background:#f3f3f3;padding:1px 4px}</style></head><body>
<h1>natter bench — ${esc(r.workload)}</h1>
<p>${esc(r.description)}</p>
<p>${esc(r.started)} · ${esc(r.machine.nproc)} CPUs, ${esc(r.machine.cpu_model)} · Node ${esc(r.machine.node)} · pinned: ${esc(r.pinned)} · load before: <code>${esc(r.uptime_before)}</code> · after: <code>${esc(r.uptime_after)}</code></p>
<p>Config: <code>${esc(JSON.stringify(r.config))}</code>${Object.keys(r.skipped ?? {}).length ? ` · skipped: ${esc(JSON.stringify(r.skipped))}` : ''}${Object.keys(r.extra ?? {}).length ? ` · ${esc(JSON.stringify(r.extra))}` : ''}</p>
<h2>Targets of issue 7</h2>
${checks.length ? table(['target', 'figure', 'value', 'goal', ''], checks.map((c) => [c.target, c.figure, c.value, c.goal, badge(c.pass, c.goal)])) : '<p>No issue target is measured by this workload.</p>'}
<p>Delivery: ${r.summary.delivery_ok ? '<span class="ok">every phase complete: nothing lost, nothing duplicated</span>' : '<span class="miss">loss or duplicates — see the phase table</span>'}</p>
<h2>Charts</h2>
${charts.join('\n')}
<h2>Medians of ${esc(r.config.runs)} run(s)</h2>
${table(['target', ...figures], targets.map((t) => [t, ...figures.map((k) => medians[t]?.[k] ?? null)]))}
<h2>Every phase</h2>
${table(['target', 'run', 'phase', 'offered msg/s', 'msg/s', 'deliveries/s', 'p50 ms', 'p99 ms', 'ack p99 ms', 'CPU µs/delivery', 'server CPU busy', 'syscalls/delivery', 'bytes written/delivery', 'disk stalls / max ms', 'steal ms', 'msgs per commit / mean ms', "natter's ack p99 / commit p99 ms", 'loop delay p99 / max ms', 'expected/received', 'lost/dup'], phases)}
<p>natter's own figures come from its /metrics before and after each phase: its ack and commit p99 as the upper bound of their histogram bucket, the event loop's delay beyond its 20 ms sampling interval (0 is an idle loop).</p>
</body></html>
`;
}
