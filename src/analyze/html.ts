/**
 * Renders an analysis report (analyze/report.ts) as one self-contained HTML page: inline CSS, charts as
 * inline SVG drawn here so they show with scripts off and no network, and a few lines of optional script
 * to sort and filter the tables. Every name is escaped: tensor and node names come from the model file.
 */
import type { RangeMethodName } from '../calibrate/observer.js';
import type { ActivationHistogram, AnalysisReport, LayerSensitivity, TensorError, WeightRanges } from './report.js';
import type { OutputComparison } from './validate.js';
import { band, c, esc, sqnrClass, fmtCos, fmtDb, fmtMs, fmtPct, fmtSci, fmtTick, num, sortKey, sqnrBars, ticks } from './svg.js';

export function renderReport(report: AnalysisReport): string {
  const r = report;
  const sections = [
    summary(r),
    graphWise(r.tensors ?? []),
    layerWise(r.layers ?? []),
    r.methods?.length ? methods(r) : '',
    r.mixedPrecision ? mixedPrecision(r) : '',
    histograms(r.histograms ?? []),
    weights(r.weights ?? []),
    r.unmatched?.length ? unmatched(r.unmatched) : '',
  ];
  const nav: [string, string, boolean][] = [
    ['summary', 'Summary', true],
    ['graph', 'Graph-wise', true],
    ['layers', 'Layer-wise', true],
    ['methods', 'Methods', !!r.methods?.length],
    ['mixed', 'Mixed precision', !!r.mixedPrecision],
    ['histograms', 'Histograms', true],
    ['weights', 'Weights', true],
    ['unmatched', 'Unmatched', !!r.unmatched?.length],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>onnxq analysis: ${esc(r.quantizedModel)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>Quantization analysis</h1>
<p class="models"><span class="k">float</span> <span class="name">${esc(r.floatModel)}</span> <span class="k">→ quantized</span> <span class="name">${esc(r.quantizedModel)}</span></p></header>
<nav>${nav.filter(([, , on]) => on).map(([id, t]) => `<a href="#${id}">${t}</a>`).join('')}</nav>
<main>
${sections.join('\n')}
<footer>${esc(r.format)} · rendered by onnxq</footer>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
}

// ---- numbers ------------------------------------------------------------------------------------

/**
 * SQNR of a compared tensor. A JSON round trip turns the +∞ of identical tensors into null; no error at
 * all (max |error| 0) still tells them apart from a SQNR that is really not a number.
 */
function sqnrOf(m: { sqnr: number; maxAbsError?: number }): number {
  const v = num(m.sqnr);
  return Number.isNaN(v) && num(m.maxAbsError) === 0 ? Infinity : v;
}

/** A coloured SQNR cell, with its sort key. */
function qCell(v: number): string {
  return `<td class="n" data-v="${sortKey(v)}"><span class="q ${sqnrClass(v)}">${fmtDb(v)}</span></td>`;
}

function nCell(text: string, key: unknown): string {
  return `<td class="n" data-v="${esc(sortKey(key))}">${esc(text)}</td>`;
}

/** Lowest first; no number last (it is a broken comparison, not a ranking). */
function bySqnr(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * A table in a box that scrolls sideways in a narrow window; `tall` ones also scroll down, header kept.
 * A header starting with '#' is a number column (right-aligned); the '#' is not shown.
 */
function table(id: string, head: string[], rows: string[], sortable = true, tall = false): string {
  const th = head.map((h) => (h.startsWith('#') ? `<th class="n">${h.slice(1)}</th>` : `<th>${h}</th>`)).join('');
  const t = `<table${id ? ` id="${id}"` : ''}${sortable ? ' class="sortable"' : ''}><thead><tr>${th}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return `<div class="${tall ? 'tablebox' : 'tscroll'}">${t}</div>`;
}

// ---- summary ------------------------------------------------------------------------------------

function card(k: string, v: string, d = ''): string {
  return `<div class="card"><div class="k">${k}</div><div class="v">${v}</div>${d ? `<div class="d">${d}</div>` : ''}</div>`;
}

function summary(r: AnalysisReport): string {
  const tensors = r.tensors ?? [];
  const outputs = r.outputs ?? [];
  const bands = { bad: 0, warn: 0, good: 0, none: 0 };
  for (const t of tensors) bands[band(sqnrOf(t))]++;
  const outSqnr = outputs.map(sqnrOf).sort(bySqnr);
  const worstOut = outSqnr[0] ?? NaN;
  const sensitive = [...(r.layers ?? [])].sort((a, b) => bySqnr(num(a.sqnr), num(b.sqnr)))[0];
  const chosen = r.methods?.find((m) => m.chosen);
  const mp = r.mixedPrecision;
  const cards = [
    card('Samples', esc(r.samples), `analysis ${fmtMs(r.timings?.analysisMs)} · float inference ${fmtMs(r.timings?.floatInferenceMs)}`),
    card('Output SQNR', `<span class="q ${sqnrClass(worstOut)}">${fmtDb(worstOut)}</span> dB`, outputs.length > 1 ? `worst of ${outputs.length} outputs` : esc(outputs[0]?.name ?? 'no outputs')),
    card('Quantized tensors', esc(tensors.length), `<span class="chip bad">${bands.bad} &lt; 10 dB</span> <span class="chip warn">${bands.warn} &lt; 20 dB</span> <span class="chip good">${bands.good} ≥ 20 dB</span>${bands.none ? ` <span class="chip none">${bands.none} no number</span>` : ''}`),
    sensitive
      ? card('Most sensitive layer', `<span class="q ${sqnrClass(num(sensitive.sqnr))}">${fmtDb(sensitive.sqnr)}</span> dB`, `${esc(sensitive.kind)} <span class="name">${esc(sensitive.tensor)}</span> (${esc(sensitive.op || 'input')}) alone quantized`)
      : '',
    chosen ? card('Range method', esc(chosen.method), `chosen of ${r.methods?.length ?? 0}, output SQNR ${fmtDb(chosen.sqnr)} dB`) : '',
    mp ? card('Mixed precision', mp.met ? '<span class="badge ok">budget met</span>' : '<span class="badge fail">budget not met</span>', `${esc(mp.budget)} · ${mp.steps?.length ?? 0} step(s)`) : '',
  ];
  const hasTop1 = outputs.some((o) => o.top1 !== undefined);
  const outRows = outputs.map((o: OutputComparison) => {
    const nf = o.nonFinite ? ` <span class="chip bad" title="values that are NaN or ±∞">non-finite: float ${esc(o.nonFinite.float)}, quantized ${esc(o.nonFinite.quantized)}</span>` : '';
    return `<tr><td class="name">${esc(o.name)}${nf}</td>${qCell(sqnrOf(o))}${nCell(fmtCos(o.cosine), o.cosine)}${nCell(fmtSci(o.maxAbsError), o.maxAbsError)}${hasTop1 ? nCell(o.top1 === undefined ? '' : `${fmtPct(o.top1)}${o.rows ? ` of ${o.rows}` : ''}`, o.top1) : ''}</tr>`;
  });
  const worst = tensors
    .map((t, i) => ({ t, i, v: sqnrOf(t) }))
    .filter((e) => !Number.isNaN(e.v))
    .sort((a, b) => bySqnr(a.v, b.v) || a.i - b.i)
    .slice(0, 5);
  const worstRows = worst.map(({ t, i, v }) => `<tr><td class="n">${i + 1}</td><td class="name">${esc(t.name)}</td><td>${esc(t.op || 'input')}</td>${qCell(v)}</tr>`);
  return `<section id="summary">
<div class="cards">${cards.join('')}</div>
<div class="two">
<div><h3>Graph outputs</h3>${table('', ['Output', '#SQNR dB', '#Cosine', '#Max |err|', ...(hasTop1 ? ['#Top-1'] : [])], outRows, false)}</div>
<div><h3>Worst quantized tensors <small>graph-wise, lowest SQNR</small></h3>${worst.length ? table('', ['#', 'Tensor', 'Op', '#SQNR dB'], worstRows, false) : '<p class="sub">No quantized tensors compared.</p>'}</div>
</div></section>`;
}

// ---- graph-wise and layer-wise -------------------------------------------------------------------

const BAND_LEGEND =
  '<div class="legend"><span><i class="sw bad"></i>&lt; 10 dB</span><span><i class="sw warn"></i>10–20 dB</span><span><i class="sw good"></i>≥ 20 dB</span><span><i class="sw inf"></i>∞ (identical)</span><span><i class="sw none"></i>no number</span></div>';

/** Rows tall enough for names when there are few; thin strips (names in tooltips and the table) when many. */
function rowHeight(n: number): number {
  return n <= 150 ? 16 : n <= 400 ? 6 : 3;
}

function graphWise(tensors: TensorError[]): string {
  const bars = sqnrBars(
    tensors.map((t, i) => {
      const v = sqnrOf(t);
      return { label: t.name, sqnr: v, tip: `#${i + 1} ${t.name} (${t.op || 'input'}): ${fmtDb(v)} dB`, extra: [fmtCos(t.cosine)] };
    }),
    { id: 'graph-chart', rowHeight: rowHeight(tensors.length), extraHeaders: ['cosine'] },
  );
  const rows = tensors.map((t, i) => {
    // The quantized tensor's name is news only when it is not the float name plus a suffix.
    const q = t.quantizedName && !t.quantizedName.startsWith(t.name) ? `<div class="alt">${esc(t.quantizedName)}</div>` : '';
    return `<tr><td class="n" data-v="${i}">${i + 1}</td><td class="name">${esc(t.name)}${q}</td><td>${esc(t.op || 'input')}</td><td class="name">${esc(t.node)}</td>${nCell(String(t.bits), t.bits)}${qCell(sqnrOf(t))}${nCell(fmtCos(t.cosine), t.cosine)}${nCell(fmtSci(t.mse), t.mse)}${nCell(fmtSci(t.maxAbsError), t.maxAbsError)}${nCell(fmtSci(t.noiseToSignal), t.noiseToSignal)}${nCell(`${fmtSci(t.scale)} / ${esc(t.zeroPoint)}`, t.scale)}</tr>`;
  });
  return `<section id="graph"><h2>Graph-wise error</h2>
<p class="sub">Every quantized activation as the deployed model sees it (error carried through from earlier layers), in graph order. SQNR = 10·log10(Σx² / Σ(x − x̂)²), higher is better.</p>
${BAND_LEGEND}
${tensors.length ? `<div class="chartbox tall">${bars}</div>` : '<p class="sub">No quantized tensors compared.</p>'}
<div class="tools"><input type="search" data-filter="tensor-table" placeholder="Filter by name, op or node" aria-label="Filter tensors"><span class="sub">Click a column header to sort.</span></div>
${table('tensor-table', ['##', 'Tensor', 'Op', 'Node', '#Bits', '#SQNR dB', '#Cosine', '#MSE', '#Max |err|', '#PPQ noise/signal', '#Scale / zp'], rows, true, true)}
</section>`;
}

const LAYER_CHART_ROWS = 50;

function layerWise(layers: LayerSensitivity[]): string {
  const hasTop1 = layers.some((l) => l.top1 !== undefined);
  const shown = layers.slice(0, LAYER_CHART_ROWS);
  const bars = sqnrBars(
    shown.map((l, i) => ({
      label: `${l.tensor} (${l.kind === 'weight' ? 'weight of ' : ''}${l.op || 'input'})`,
      sqnr: num(l.sqnr),
      tip: `#${i + 1} ${l.kind} ${l.tensor} (${l.op || 'input'} ${l.node}): ${fmtDb(l.sqnr)} dB, cosine ${fmtCos(l.cosine)}${l.top1 !== undefined ? `, top-1 ${fmtPct(l.top1)}` : ''}`,
      extra: hasTop1 ? [fmtCos(l.cosine), l.top1 === undefined ? '' : fmtPct(l.top1)] : [fmtCos(l.cosine)],
    })),
    { id: 'layer-chart', rowHeight: 16, extraHeaders: hasTop1 ? ['cosine', 'top-1'] : ['cosine'], labelWidth: 300 },
  );
  const rows = layers.map(
    (l, i) =>
      `<tr><td class="n" data-v="${i}">${i + 1}</td><td class="name">${esc(l.tensor)}</td><td>${esc(l.kind)}</td><td>${esc(l.op || 'input')}</td><td class="name">${esc(l.node)}</td>${qCell(num(l.sqnr))}${nCell(fmtCos(l.cosine), l.cosine)}${hasTop1 ? nCell(l.top1 === undefined ? '' : fmtPct(l.top1), l.top1) : ''}</tr>`,
  );
  return `<section id="layers"><h2>Layer-wise sensitivity</h2>
<p class="sub">One tensor quantized (an activation wherever the quantized model reads it quantized, or a weight), everything else float; SQNR over every graph output, most sensitive first.${layers.length > LAYER_CHART_ROWS ? ` The chart shows the ${LAYER_CHART_ROWS} most sensitive of ${layers.length}; the table has all.` : ''}</p>
${layers.length ? `<div class="chartbox">${bars}</div>` : '<p class="sub">No layers measured.</p>'}
<div class="tools"><input type="search" data-filter="layer-table" placeholder="Filter by tensor, op or node" aria-label="Filter layers"></div>
${table('layer-table', ['#Rank', 'Tensor', 'Kind', 'Op', 'Node', '#SQNR dB', '#Cosine', ...(hasTop1 ? ['#Top-1'] : [])], rows, true, true)}
</section>`;
}

function methods(r: AnalysisReport): string {
  const ms = r.methods ?? [];
  const hasTop1 = ms.some((m) => m.top1 !== undefined);
  const bars = sqnrBars(
    ms.map((m) => ({
      label: m.chosen ? `✓ ${m.method}` : m.method,
      sqnr: num(m.sqnr),
      tip: `${m.method}: ${fmtDb(m.sqnr)} dB${m.chosen ? ' (chosen)' : ''}`,
      mark: m.chosen,
      extra: [fmtCos(m.cosine), fmtMs(m.ms)],
    })),
    { id: 'method-chart', rowHeight: 18, extraHeaders: ['cosine', 'time'], labelWidth: 160 },
  );
  const rows = ms.map(
    (m) =>
      `<tr${m.chosen ? ' class="chosen"' : ''}><td>${esc(m.method)}${m.chosen ? ' <span class="badge ok">chosen</span>' : ''}</td>${qCell(num(m.sqnr))}${nCell(fmtCos(m.cosine), m.cosine)}${hasTop1 ? nCell(m.top1 === undefined ? '' : fmtPct(m.top1), m.top1) : ''}${nCell(fmtMs(m.ms), m.ms)}</tr>`,
  );
  return `<section id="methods"><h2>Range methods compared</h2>
<p class="sub">Each method's model on held-out samples, over every graph output. Time is turning statistics into the model (calibration is shared).</p>
<div class="chartbox">${bars}</div>
${table('', ['Method', '#SQNR dB', '#Cosine', ...(hasTop1 ? ['#Top-1'] : []), '#Time'], rows)}
</section>`;
}

function mixedPrecision(r: AnalysisReport): string {
  const mp = r.mixedPrecision!;
  const lat = mp.latencyMs ?? { float: NaN, int8: NaN, written: NaN };
  const rows = (mp.steps ?? []).map(
    (s, i) =>
      `<tr><td class="n">${i + 1}</td><td class="name">${(s.nodes ?? []).map(esc).join('<br>')}</td><td>${esc(s.op)}</td><td>${esc(s.to)}</td>${nCell(fmtSci(s.metric), s.metric)}${nCell(fmtMs(s.latencyMs), s.latencyMs)}</tr>`,
  );
  return `<section id="mixed"><h2>Mixed precision</h2>
<p>Budget <b>${esc(mp.budget)}</b> ${mp.met ? '<span class="badge ok">met</span>' : '<span class="badge fail">not met</span>'}</p>
<div class="cards">${card('Metric', `${fmtSci(mp.start)} → ${fmtSci(mp.end)}`, 'full int8 → model written')}${card('Latency', fmtMs(lat.written), `written; int8 ${fmtMs(lat.int8)}, float ${fmtMs(lat.float)}`)}${card('Steps', esc(mp.steps?.length ?? 0), 'layers taken out of int8')}</div>
${rows.length ? `<h3>Steps <small>in the order taken, metric and latency after each</small></h3>${table('', ['#Step', 'Nodes', 'Op', 'To', '#Metric', '#Latency'], rows, false)}` : ''}
</section>`;
}

// ---- histograms -----------------------------------------------------------------------------------

/** One colour per range method, distinct on white and in the legend; unknown methods are grey. */
const METHOD_COLOURS: Record<RangeMethodName, string> = {
  minmax: '#1f5fbf',
  'moving-average': '#12a3b4',
  percentile: '#8e44ad',
  entropy: '#d1342f',
  mse: '#e07b00',
  admm: '#7a5230',
  aciq: '#d4509a',
};

function methodColour(m: string): string {
  return (METHOD_COLOURS as Record<string, string>)[m] ?? '#777';
}

/** The methods a histogram has a range for, known ones in the legend's order, then any others. */
function methodsOf(h: ActivationHistogram): string[] {
  const rg = (h.ranges ?? {}) as Record<string, unknown>;
  const known = Object.keys(METHOD_COLOURS);
  return [...known, ...Object.keys(rg).filter((m) => !known.includes(m))].filter((m) => rg[m]);
}

/** At most this many bars per histogram: a 4096-bin histogram would be larger than the page needs. */
const HIST_BARS = 160;

function histogramSvg(h: ActivationHistogram): string {
  const methods = methodsOf(h);
  const W = 340;
  const L = 8;
  const R = 8;
  // A caption row, then one row of marker caps per method.
  const capY = (k: number): number => 18 + k * 4;
  const T = capY(methods.length);
  const plotH = 100;
  const base = T + plotH;
  const H = base + 20;
  const plotW = W - L - R;
  let lo = num(h.lo);
  let hi = num(h.hi);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [num(h.min), num(h.max)];
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  const span = hi > lo ? hi - lo : 1;
  const x = (v: number): number => L + ((v - lo) / span) * plotW;
  const raw = (h.counts ?? []).map((v) => Math.max(0, num(v) || 0));
  const group = Math.max(1, Math.ceil(raw.length / HIST_BARS));
  const counts: number[] = [];
  for (let i = 0; i < raw.length; i += group) counts.push(raw.slice(i, i + group).reduce((a, b) => a + b, 0));
  const maxC = Math.max(0, ...counts);
  // Log scale, so that the tails — where the methods disagree — show beside the peak.
  const y = (n: number): number => (maxC > 0 ? base - (Math.log10(1 + n) / Math.log10(1 + maxC)) * plotH : base);
  const bw = plotW / Math.max(1, counts.length);
  let d = `M${c(L)} ${c(base)}`;
  counts.forEach((n, i) => (d += `V${c(y(n))}H${c(L + (i + 1) * bw)}`));
  d += `V${c(base)}Z`;
  const clampX = (v: number): number => Math.min(W - R, Math.max(L, x(v)));
  const used = h.used ?? { min: NaN, max: NaN };
  const u0 = clampX(num(used.min));
  const u1 = clampX(num(used.max));
  const parts: string[] = [`<svg class="chart hist" viewBox="0 0 ${W} ${H}" role="img" aria-label="histogram of ${esc(h.name)}">`];
  if (Number.isFinite(num(used.min)) && Number.isFinite(num(used.max))) {
    parts.push(`<rect class="used" x="${c(u0)}" y="${c(T)}" width="${c(Math.max(1, u1 - u0))}" height="${plotH}"><title>used range ${fmtSci(used.min)} … ${fmtSci(used.max)}</title></rect>`);
  }
  if (counts.length) parts.push(`<path class="counts" d="${d}"/>`);
  parts.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${c(base)}" y2="${c(base)}"/>`);
  for (const t of ticks(lo, hi, 4)) {
    parts.push(`<line class="axis" x1="${c(x(t))}" x2="${c(x(t))}" y1="${c(base)}" y2="${c(base + 3)}"/><text class="tick" x="${c(x(t))}" y="${c(base + 14)}" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  parts.push(`<text class="tick" x="${L}" y="10">count, log scale</text>`);
  methods.forEach((m, k) => {
    const rg = (h.ranges as Record<string, { min: number; max: number }>)[m]!;
    const col = methodColour(m);
    let g = `<g stroke="${col}" fill="${col}"><title>${esc(m)}: ${fmtSci(rg.min)} … ${fmtSci(rg.max)}</title>`;
    for (const v of [num(rg.min), num(rg.max)]) {
      if (!Number.isFinite(v)) continue;
      const out = v < lo || v > hi;
      const px = c(clampX(v));
      // Each method's cap sits on its own height, so methods that pick the same value stay visible.
      g += `<line class="mk${out ? ' out' : ''}" x1="${px}" x2="${px}" y1="${capY(k)}" y2="${c(base)}"/><circle cx="${px}" cy="${capY(k)}" r="2"/>`;
    }
    parts.push(`${g}</g>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function histograms(hs: ActivationHistogram[]): string {
  const present = new Set(hs.flatMap(methodsOf));
  const legend = [...present]
    .map((m) => `<span><i class="sw" style="background:${methodColour(m)}"></i>${esc(m)}</span>`)
    .join('');
  const cards = hs.map((h) => {
    const rg = h.ranges as Record<string, { min: number; max: number } | undefined>;
    const rows = methodsOf(h).map((m) => `<tr><td><i class="sw" style="background:${methodColour(m)}"></i>${esc(m)}</td><td class="n">${fmtSci(rg[m]!.min)}</td><td class="n">${fmtSci(rg[m]!.max)}</td></tr>`);
    rows.push(`<tr class="used-row"><td><i class="sw used"></i>used</td><td class="n">${fmtSci(h.used?.min)}</td><td class="n">${fmtSci(h.used?.max)}</td></tr>`);
    return `<div class="hcard"><h3 class="name" title="${esc(h.name)}">${esc(h.name)}</h3>${histogramSvg(h)}
<table class="mini"><tbody><tr><td>seen</td><td class="n">${fmtSci(h.min)}</td><td class="n">${fmtSci(h.max)}</td></tr>${rows.join('')}</tbody></table></div>`;
  });
  return `<section id="histograms"><h2>Activation histograms</h2>
<p class="sub">Counts over [lo, hi] on a log scale; vertical markers are the clip range each method would pick (dashed when outside the histogram), the shaded band is the range the quantized model uses.</p>
<div class="legend">${legend}<span><i class="sw used"></i>used range</span></div>
${hs.length ? `<div class="grid">${cards.join('\n')}</div>` : '<p class="sub">No histograms.</p>'}
</section>`;
}

// ---- weights ------------------------------------------------------------------------------------

/**
 * Per-channel float range as thin vertical bars, the part beyond the clip range in red, and the clip
 * range as ticks drawn over them; clipped channels also get a red mark under the axis, which stays
 * visible among thousands of channels. A channel counts as clipped only when a value lies more than half
 * a quantization step outside: closer than that it rounds to the end level anyway. When channels are
 * denser than two units each, per-channel ticks would blur into noise, so the clip range becomes a grey
 * band behind the bars instead.
 */
function weightSvg(w: WeightRanges): { svg: string; clipped: number; channels: number } {
  const mins = (w.min ?? []).map(num);
  const maxs = (w.max ?? []).map(num);
  const cmins = (w.clipMin ?? []).map(num);
  const cmaxs = (w.clipMax ?? []).map(num);
  const n = Math.min(mins.length, maxs.length);
  const W = 1000;
  const L = 52;
  const R = 8;
  const T = 8;
  const plotH = 150;
  const base = T + plotH;
  const H = base + 22;
  const plotW = W - L - R;
  // A loop, not Math.min(...): spreading hundreds of thousands of channels overflows the stack.
  let lo = 0;
  let hi = 0;
  for (const list of [mins, maxs, cmins, cmaxs]) {
    for (const v of list) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const y = (v: number): number => T + ((hi - v) / (hi - lo)) * plotH;
  const cell = plotW / Math.max(1, n);
  const dense = cell < 2;
  const sw = Math.min(8, Math.max(0.6, cell * 0.6));
  const levels = 2 ** (num(w.bits) || 8) - 1;
  // Dense, tenths of a unit are invisible and would double the path data.
  const p = dense ? (v: number): string => (Number.isFinite(v) ? String(Math.round(v)) : '0') : c;
  let range = '';
  let over = '';
  let clip = '';
  let marks = '';
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    const a = mins[i]!;
    const b = maxs[i]!;
    const cx = p(L + (i + 0.5) * cell);
    if (Number.isFinite(a) && Number.isFinite(b)) range += `M${cx} ${p(y(b))}V${p(y(a))}`;
    const ca = cmins[i] ?? NaN;
    const cb = cmaxs[i] ?? NaN;
    if (!Number.isFinite(ca) || !Number.isFinite(cb)) continue;
    if (dense) clip += `M${cx} ${p(y(cb))}V${p(y(ca))}`;
    else {
      // A few channels (or one, per tensor) get ticks of a bar's width or so, not lines across the chart.
      const tw = Math.min(cell * 0.8, 24);
      const x0 = p(L + (i + 0.5) * cell - tw / 2);
      clip += `M${x0} ${p(y(cb))}h${p(tw)}M${x0} ${p(y(ca))}h${p(tw)}`;
    }
    const halfStep = (cb - ca) / levels / 2;
    const high = Number.isFinite(b) && b > cb + halfStep;
    const low = Number.isFinite(a) && a < ca - halfStep;
    if (high) over += `M${cx} ${p(y(b))}V${p(y(cb))}`;
    if (low) over += `M${cx} ${p(y(ca))}V${p(y(a))}`;
    if (high || low) {
      clipped++;
      marks += `M${cx} ${base + 3}v5`;
    }
  }
  const parts: string[] = [`<svg class="chart weights" viewBox="0 0 ${W} ${H}" role="img" aria-label="per-channel ranges of ${esc(w.name)}">`];
  for (const t of ticks(lo, hi, 6)) {
    parts.push(`<line class="gridline" x1="${L}" x2="${W - R}" y1="${c(y(t))}" y2="${c(y(t))}"/><text class="tick" x="${L - 4}" y="${c(y(t) + 3)}" text-anchor="end">${fmtTick(t)}</text>`);
  }
  if (dense && clip) parts.push(`<path class="wclip-band" stroke-width="${c(cell + 0.5)}" d="${clip}"/>`);
  parts.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${c(y(0))}" y2="${c(y(0))}"/>`);
  if (range) parts.push(`<path class="wrange" stroke-width="${c(sw)}" d="${range}"/>`);
  if (!dense && clip) parts.push(`<path class="wclip" d="${clip}"/>`);
  // Red over everything, at least two units wide so that one clipped channel among thousands shows.
  if (over) parts.push(`<path class="wover" stroke-width="${c(Math.max(sw, 2))}" d="${over}"/>`);
  if (marks) parts.push(`<path class="wover" stroke-width="${c(Math.max(sw, 2))}" d="${marks}"/>`);
  parts.push(
    n > 1
      ? `<text class="tick" x="${L}" y="${H - 3}">channel 0</text><text class="tick" x="${W - R}" y="${H - 3}" text-anchor="end">${n - 1}</text>`
      : `<text class="tick" x="${c(L + plotW / 2)}" y="${H - 3}" text-anchor="middle">whole tensor</text>`,
  );
  parts.push('</svg>');
  return { svg: parts.join(''), clipped, channels: n };
}

function weights(ws: WeightRanges[]): string {
  let clipping = 0;
  const cards = ws.map((w) => {
    const { svg, clipped, channels } = weightSvg(w);
    if (clipped) clipping++;
    const v = num(w.sqnr);
    const per = typeof w.axis !== 'number' ? 'per tensor' : `axis ${esc(w.axis)}, ${channels} channels`;
    return `<div class="wcard"><h3><span class="name">${esc(w.name)}</span> <span class="q ${sqnrClass(v)}">${fmtDb(v)} dB</span></h3>
<p class="sub">${esc(w.op)} <span class="name">${esc(w.node)}</span> · [${(w.dims ?? []).map(esc).join('×')}] · ${per} · int${esc(w.bits)} · ${clipped ? `<b class="bad-text">${clipped} of ${channels} clipped</b>` : 'none clipped'}</p>
<div class="chartbox">${svg}</div></div>`;
  });
  return `<section id="weights"><h2>Weights per channel</h2>
<p class="sub">Blue: each channel's float min … max. Black ticks (a grey band when channels are too dense for ticks): the range the channel's scale and zero point cover. Red: values beyond it, more than half a step out, with a mark under the axis.</p>
${ws.length ? `<p>${clipping ? `<b class="bad-text">${clipping} of ${ws.length}</b> weights clip` : `None of ${ws.length} weights clips`} a channel.</p>
${cards.join('\n')}` : '<p class="sub">No weights.</p>'}
</section>`;
}

function unmatched(names: string[]): string {
  return `<section id="unmatched"><h2>Unmatched tensors</h2>
<p class="sub">Quantized tensors of the quantized model with no counterpart in the float model; not compared.</p>
<details${names.length <= 20 ? ' open' : ''}><summary>${names.length} tensor${names.length === 1 ? '' : 's'}</summary><ul class="names">${names.map((n) => `<li class="name">${esc(n)}</li>`).join('')}</ul></details>
</section>`;
}

// ---- style and script -----------------------------------------------------------------------------

const CSS = `
:root{--bad:#c8372d;--warn:#d99100;--good:#2d9455;--inf:#1b6b42;--none:#a0a8b2;--ink:#1c232b;--mute:#5d6876;--line:#dfe3e8;--bg:#f4f6f8;--head:#eef1f4}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{padding:18px 24px 6px;max-width:1280px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 4px}
h3{font-size:14px;margin:14px 0 6px}
h3 small,.sub{color:var(--mute);font-weight:normal}
.sub{margin:0 0 10px;font-size:13px}
.models{margin:0;color:var(--mute)}
.models .name{color:var(--ink);font-weight:600}
.k{color:var(--mute)}
nav{position:sticky;top:0;z-index:3;background:#fff;border-bottom:1px solid var(--line);padding:8px 24px;display:flex;flex-wrap:wrap;gap:4px 18px}
nav a{color:#1f5fbf;text-decoration:none;font-weight:500}
nav a:hover{text-decoration:underline}
main{max-width:1280px;margin:0 auto;padding:4px 24px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:16px 20px;margin:16px 0;scroll-margin-top:44px}
footer{color:var(--mute);font-size:12px;text-align:center}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:10px;margin-bottom:6px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 12px;min-width:0}
.card .k{font-size:11px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:22px;font-weight:600;margin:2px 0}
.card .d{font-size:12px;color:var(--mute);overflow-wrap:anywhere}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:6px 20px}
.name{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12px;overflow-wrap:anywhere}
.alt{color:var(--mute);font-size:11px}
td.name{min-width:14ch}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600;position:sticky;top:0;z-index:1;white-space:nowrap}
.n{text-align:right;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}
tr.chosen td{font-weight:600}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th:hover{background:#e2e7ec}
th[aria-sort=ascending]::after{content:" ▲";font-size:10px}
th[aria-sort=descending]::after{content:" ▼";font-size:10px}
.tablebox{max-height:70vh;overflow:auto;border:1px solid var(--line);border-radius:4px}
.tscroll{overflow-x:auto}
/* Narrow windows scroll tables sideways rather than wrap names a few letters a line. */
.tscroll table,.tablebox table{min-width:560px}
#tensor-table{min-width:980px}
#layer-table{min-width:720px}
.tools{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px;margin:12px 0 6px}
.tools .sub{margin:0}
input[type=search]{font:inherit;padding:4px 8px;border:1px solid #c4cbd3;border-radius:4px;width:min(100%,340px)}
.q{display:inline-block;min-width:3em;padding:0 5px;border-radius:3px;color:#fff;text-align:right;font-weight:600}
.q.bad,.sw.bad,.chip.bad{background:var(--bad)}
.q.warn,.sw.warn,.chip.warn{background:var(--warn)}
.q.good,.sw.good,.chip.good{background:var(--good)}
.q.inf,.sw.inf{background:var(--inf)}
.q.none,.sw.none,.chip.none{background:var(--none)}
.chip{display:inline-block;color:#fff;border-radius:3px;padding:0 5px;margin:2px 0;white-space:nowrap}
.badge{display:inline-block;border-radius:10px;padding:0 9px;font-size:12px;font-weight:600;vertical-align:2px}
.badge.ok{background:#dff3e6;color:#1b6b42}
.badge.fail{background:#fbe3e1;color:#a02a22}
.card .v .badge{font-size:15px}
.card .v .q{min-width:0}
.bad-text{color:var(--bad)}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:var(--mute);margin:4px 0 10px}
.sw{display:inline-block;width:12px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.sw.used{background:rgba(47,111,222,.18);border:1px solid rgba(47,111,222,.5)}
.chartbox{overflow-x:auto}
.chartbox.tall{max-height:70vh;overflow-y:auto;border:1px solid var(--line);border-radius:4px}
svg.chart{display:block;width:100%;height:auto}
svg.bars{min-width:860px}
svg.weights{min-width:800px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:11px;fill:var(--ink)}
svg .tick{fill:var(--mute);font-size:10px}
svg .lbl{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:10.5px}
svg .lbl.mark{font-weight:700}
svg .val{fill:var(--mute);font-size:10px}
.bar.bad{fill:var(--bad)}.bar.warn{fill:var(--warn)}.bar.good{fill:var(--good)}.bar.inf{fill:var(--inf)}.bar.none{fill:var(--none)}
.bar.mark{stroke:#111;stroke-width:1.5}
.bar:hover{opacity:.75}
.guide{stroke:#9aa3ad;stroke-dasharray:3 3}
.axis{stroke:#8a939e;stroke-width:1}
.gridline{stroke:#eceff2}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,330px),1fr));gap:14px}
.hcard,.wcard{border:1px solid var(--line);border-radius:6px;padding:8px 10px;min-width:0}
.hcard h3{margin:0 0 4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.wcard{margin:10px 0}
.wcard h3{margin:0 0 2px}
.wcard .sub{margin:0 0 4px}
.used{fill:rgba(47,111,222,.13);stroke:rgba(47,111,222,.45);stroke-width:.8}
.counts{fill:#8f9bab}
.mk{stroke-width:1.4}
.mk.out{stroke-dasharray:3 2}
table.mini{font-size:11.5px;margin-top:4px}
table.mini td{padding:1px 6px}
tr.used-row td{font-weight:600}
.wrange{stroke:#3b74c9;fill:none}
.wover{stroke:var(--bad);fill:none}
.wclip{stroke:#111;stroke-width:1.2;fill:none}
.wclip-band{stroke:#c9cfd6;fill:none}
ul.names{columns:2 320px;margin:8px 0;padding-left:18px}
@media (max-width:640px){header,main{padding-left:10px;padding-right:10px}section{padding:12px}nav{padding:6px 10px}}
`;

/** Sort on header click (numbers by data-v, "no number" always last) and filter rows by text. */
const SCRIPT = `
(function(){
function key(td){if(!td)return '';var v=td.getAttribute('data-v');if(v===null)return td.textContent.trim().toLowerCase();return v===''?NaN:parseFloat(v);}
function cmp(x,y,dir){if(typeof x==='number'&&typeof y==='number'){if(isNaN(x))return isNaN(y)?0:1;if(isNaN(y))return -1;return x===y?0:(x<y?-dir:dir);}return String(x).localeCompare(String(y))*dir;}
document.querySelectorAll('table.sortable').forEach(function(t){
var hs=t.tHead?t.tHead.rows[0].cells:[];
Array.prototype.forEach.call(hs,function(th){th.addEventListener('click',function(){
var i=th.cellIndex,dir=th.getAttribute('aria-sort')==='ascending'?-1:1,body=t.tBodies[0];
Array.prototype.forEach.call(hs,function(h){h.removeAttribute('aria-sort');});
th.setAttribute('aria-sort',dir===1?'ascending':'descending');
var rows=Array.prototype.slice.call(body.rows).map(function(r,k){return {r:r,k:key(r.cells[i]),o:k};});
rows.sort(function(a,b){return cmp(a.k,b.k,dir)||a.o-b.o;});
var f=document.createDocumentFragment();rows.forEach(function(e){f.appendChild(e.r);});body.appendChild(f);
});});});
document.querySelectorAll('input[data-filter]').forEach(function(inp){
var t=document.getElementById(inp.getAttribute('data-filter'));if(!t)return;
inp.addEventListener('input',function(){var q=inp.value.trim().toLowerCase();
Array.prototype.forEach.call(t.tBodies[0].rows,function(r){r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;});});
});
})();
`;
