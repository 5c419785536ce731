/**
 * Small helpers for the analysis page (analyze/html.ts): HTML escaping, number formatting that copes
 * with ±Infinity, NaN and the null a JSON round trip leaves in their place, nice axis ticks, and the
 * one chart used several times — horizontal SQNR bars coloured by band.
 */

/** Escapes text for element content and for double- or single-quoted attribute values. */
export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A number from a report field. JSON turns ±Infinity and NaN into null, and a hand-written report may
 * spell them as strings; anything that is not a number becomes NaN, which every caller shows as "—".
 */
export function num(x: unknown): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'string' && x.trim() !== '') return Number(x);
  return NaN;
}

/** An SVG coordinate: one decimal, and never NaN or Infinity in an attribute (0 stands in). */
export function c(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0';
}

/** dB for a table cell: "∞" for identical tensors, "—" when there is no number. */
export function fmtDb(x: unknown, digits = 1): string {
  const v = num(x);
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  if (Number.isNaN(v)) return '—';
  return v.toFixed(digits);
}

/** Cosine similarities sit near 1, so they need more digits than other ratios to tell apart. */
export function fmtCos(x: unknown): string {
  const v = num(x);
  return Number.isFinite(v) ? v.toFixed(5) : '—';
}

/** Errors, scales and ranges span many decades: three significant digits, exponent when far from 1. */
export function fmtSci(x: unknown): string {
  const v = num(x);
  if (Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e5 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

export function fmtPct(x: unknown): string {
  const v = num(x);
  return Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '—';
}

export function fmtMs(x: unknown): string {
  const v = num(x);
  if (!Number.isFinite(v)) return '—';
  return v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} ms`;
}

/** A sort key for a table cell's data-v: Infinity sorts above every number, no number below all. */
export function sortKey(x: unknown): string {
  const v = num(x);
  if (Number.isNaN(v)) return '';
  return String(v);
}

export type Band = 'bad' | 'warn' | 'good' | 'none';

/** The SQNR bands the page colours by: below 10 dB the layer is broken, below 20 dB worth a look. */
export function band(sqnr: number): Band {
  if (Number.isNaN(sqnr)) return 'none';
  if (sqnr < 10) return 'bad';
  if (sqnr < 20) return 'warn';
  return 'good';
}

/** The CSS class of a SQNR: its band, or `inf` for identical tensors (a darker green). */
export function sqnrClass(sqnr: number): Band | 'inf' {
  return sqnr === Infinity ? 'inf' : band(sqnr);
}

/** About `count` round tick values (1, 2 or 5 × 10^k apart) within [lo, hi]. */
export function ticks(lo: number, hi: number, count: number): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) return [];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/** Tick label: few digits, since ticks are round numbers. */
export function fmtTick(t: number): string {
  const a = Math.abs(t);
  if (a !== 0 && (a < 1e-2 || a >= 1e4)) return t.toExponential(0);
  return String(Number(t.toPrecision(3)));
}

export interface BarRow {
  label: string;
  sqnr: number;
  /** Tooltip text (escaped here). */
  tip: string;
  /** Drawn in bold with a marker, e.g. the chosen method. */
  mark?: boolean;
  /** Extra text columns right of the bars (cosine, top-1 …). */
  extra?: string[];
}

export interface BarOptions {
  id?: string;
  /** Row height in SVG units; labels are drawn only when a row is tall enough to read them. */
  rowHeight: number;
  /** Headers of the extra columns. */
  extraHeaders?: string[];
  /** Width of the label column (0 for none). */
  labelWidth?: number;
}

const WIDTH = 960;

/**
 * Horizontal SQNR bars, one `<rect class="bar">` per row with a `<title>` tooltip and nothing else, so
 * a model with thousands of tensors stays a file linear in their number. Bars start at 0 dB; +∞ runs to
 * the right edge, no number is a grey stub. The 10 and 20 dB band limits are drawn as dashed lines.
 */
export function sqnrBars(rows: BarRow[], o: BarOptions): string {
  const h = o.rowHeight;
  const labels = h >= 12;
  const labelW = labels ? (o.labelWidth ?? 260) : 44;
  const extraW = labels ? (o.extraHeaders?.length ?? 0) * 78 : 0;
  const top = 22;
  const x0 = labelW + 8;
  const plotW = WIDTH - x0 - extraW - 28;
  const finite = rows.map((r) => r.sqnr).filter((v) => Number.isFinite(v));
  const lo = Math.min(0, Math.floor(Math.min(0, ...finite) / 10) * 10);
  const hi = Math.max(30, Math.ceil(Math.max(0, ...finite) / 10) * 10);
  const x = (v: number): number => x0 + ((v - lo) / (hi - lo)) * plotW;
  const zero = x(0);
  const height = top + rows.length * h + 6;
  const parts: string[] = [];
  parts.push(`<svg class="chart bars" ${o.id ? `id="${esc(o.id)}" ` : ''}viewBox="0 0 ${WIDTH} ${c(height)}" role="img" aria-label="SQNR per row, dB">`);
  // Axis: ticks along the top, band limits and zero as vertical guides through every row.
  for (const t of ticks(lo, hi, 8)) {
    parts.push(`<text class="tick" x="${c(x(t))}" y="12" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  parts.push(labels ? `<text class="tick" x="${labelW}" y="12" text-anchor="end">SQNR, dB</text>` : '<text class="tick" x="2" y="12">dB</text>');
  const bottom = top + rows.length * h;
  for (const g of [10, 20]) {
    if (g > lo && g < hi) parts.push(`<line class="guide" x1="${c(x(g))}" x2="${c(x(g))}" y1="${top - 4}" y2="${c(bottom)}"/>`);
  }
  parts.push(`<line class="axis" x1="${c(zero)}" x2="${c(zero)}" y1="${top - 4}" y2="${c(bottom)}"/>`);
  if (!labels && rows.length > 20) {
    // Without names, row numbers down the left keep the graph order readable.
    const every = rows.length > 500 ? 100 : rows.length > 100 ? 50 : 10;
    for (let i = 0; i < rows.length; i += every) {
      parts.push(`<text class="tick" x="${labelW}" y="${c(top + i * h + h)}" text-anchor="end">${i + 1}</text>`);
    }
  }
  if (labels && o.extraHeaders) {
    o.extraHeaders.forEach((t, k) => {
      parts.push(`<text class="tick" x="${c(WIDTH - extraW + k * 78 + 70)}" y="12" text-anchor="end">${esc(t)}</text>`);
    });
  }
  const barH = Math.max(1, h - (h >= 8 ? 3 : 1));
  rows.forEach((r, i) => {
    const y = top + i * h + (h - barH) / 2;
    const v = r.sqnr;
    let a = zero;
    let b = zero;
    if (v === Infinity) b = x0 + plotW + 10;
    else if (Number.isFinite(v)) [a, b] = v >= 0 ? [zero, x(v)] : [x(v), zero];
    else if (v === -Infinity) a = x0 - 4;
    // A stub for 0 dB, −∞ and no number, so that every row shows something to hover.
    const w = Math.max(b - a, 2);
    parts.push(`<rect class="bar ${sqnrClass(v)}${r.mark ? ' mark' : ''}" x="${c(a)}" y="${c(y)}" width="${c(w)}" height="${c(barH)}"><title>${esc(r.tip)}</title></rect>`);
    if (labels) {
      const ty = c(y + barH / 2 + 4);
      parts.push(`<text class="lbl${r.mark ? ' mark' : ''}" x="${labelW}" y="${ty}" text-anchor="end">${esc(clip(r.label, Math.floor(labelW / 6.2)))}</text>`);
      parts.push(`<text class="val" x="${c(Math.max(a, b) + 4)}" y="${ty}">${fmtDb(v)}</text>`);
      (r.extra ?? []).forEach((t, k) => {
        parts.push(`<text class="val" x="${c(WIDTH - extraW + k * 78 + 70)}" y="${ty}" text-anchor="end">${esc(t)}</text>`);
      });
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Shortens a long name from the front: paths share their prefix and the layer is named at the end. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `…${s.slice(s.length - Math.max(4, max - 1))}`;
}
