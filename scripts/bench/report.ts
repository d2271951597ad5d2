/**
 * A benchmark run as one HTML page that opens anywhere, offline: the figures against their targets,
 * and charts of how the run went (throughput, lag, freshness, memory and CPU of each process, and how
 * time and memory grow with the number of users). uPlot and the page's own script are inlined; the
 * run's data sits in a JSON block that the script draws from.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import type { Sample, SamplerResult } from './proc-sampler.ts';

/** One point of a timeseries: seconds since the run started, and the value then. */
export type Point = readonly [t: number, value: number];

/** Named timeseries, one line each in a chart. */
export type SeriesSet = Readonly<Record<string, readonly Point[]>>;

/** One row of the figures table. */
export interface Figure {
  readonly label: string;
  /** The figure with its unit, as printed: `9,120 users/s`. */
  readonly value: string;
  readonly target?: string;
  /** Whether the figure meets its target: shown as ✓ or ✗. */
  readonly met?: boolean;
  readonly note?: string;
}

/**
 * Freshness (PostgreSQL commit → row in Cassandra) as a histogram of equal buckets, bucketed here
 * rather than in the page: a million samples would make a page of megabytes.
 */
export interface FreshnessHistogram {
  /** Where the first bucket starts, in ms. */
  readonly fromMs: number;
  readonly widthMs: number;
  /** Samples in each bucket, in order from `fromMs`. */
  readonly counts: readonly number[];
  /** Samples beyond the last bucket: the slowest 0.1% at most, left out so that a tail does not squash the rest. */
  readonly above: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** One run of the whole flow at one size, for the scale curve. */
export interface ScalePoint {
  readonly users: number;
  readonly seconds: number;
  readonly peakRssMb: number;
}

export interface BenchReport {
  readonly title: string;
  /** When the run was, as an ISO timestamp. */
  readonly when: string;
  readonly users: number;
  /** The machine in one line (see machineSummary). */
  readonly machine: string;
  readonly figures: readonly Figure[];
  /** Users per second, per stage. */
  readonly throughput: SeriesSet;
  /** Records behind, per consumer group. */
  readonly consumerLag: SeriesSet;
  readonly freshness: FreshnessHistogram;
  /** Resident memory in MB, per process. */
  readonly rssMb: SeriesSet;
  /** CPU cores in use, per process. */
  readonly cpuCores: SeriesSet;
  /** Runs at several sizes, by users; empty when none were made. */
  readonly scale: readonly ScalePoint[];
}

/** The most buckets a freshness histogram has: enough for its shape, few enough to read. */
const MAX_BUCKETS = 60;

/** The smallest of 1, 2 or 5 × 10^k ms at least `raw` (and at least 1 ms): bucket edges a reader can add up. */
function niceWidth(raw: number): number {
  if (raw <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((width) => width >= raw) ?? 10 * power;
}

/** The value below which `p` percent of the sorted samples fall, as bench-pipeline quotes it. */
const percentile = (sorted: readonly number[], p: number): number =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);

/**
 * Freshness samples (ms, in any order) as a histogram of at most 60 equal buckets of a round width,
 * from the bucket of the lowest sample to that of the 99.9th percentile, with p50, p99 and the
 * maximum. A long tail (one slow batch) would otherwise press the whole distribution into a few bars.
 */
export function freshnessHistogram(samplesMs: readonly number[]): FreshnessHistogram {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const min = sorted[0];
  const max = sorted.at(-1);
  if (min === undefined || max === undefined) {
    return { fromMs: 0, widthMs: 1, counts: [], above: 0, samples: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  }
  const upper = sorted[Math.min(sorted.length - 1, Math.floor(0.999 * sorted.length))] ?? max;
  // One bucket less than the most, for the first one's start rounded down below the lowest sample.
  const widthMs = niceWidth((upper - min) / (MAX_BUCKETS - 1));
  const fromMs = Math.floor(min / widthMs) * widthMs;
  const counts = new Array<number>(Math.floor((upper - fromMs) / widthMs) + 1).fill(0);
  let above = 0;
  for (const ms of sorted) {
    const bucket = Math.floor((ms - fromMs) / widthMs);
    if (bucket < counts.length) counts[bucket] = (counts[bucket] ?? 0) + 1;
    else above++;
  }
  return {
    fromMs,
    widthMs,
    counts,
    above,
    samples: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: Math.round(max),
  };
}

/**
 * The rate of a cumulative count (users done, CPU seconds used): the change per second between each
 * point and the one before, at the later one's time, to 2 decimals.
 */
export function perSecond(cumulative: readonly Point[]): Point[] {
  const rates: Point[] = [];
  for (const [i, [t, value]] of cumulative.entries()) {
    const previous = cumulative[i - 1];
    if (previous === undefined || t <= previous[0]) continue;
    rates.push([t, Math.round(((value - previous[1]) / (t - previous[0])) * 100) / 100]);
  }
  return rates;
}

/**
 * Rates over a trailing window of `windowS` seconds: counters that move in steps (a chunk of 5,000
 * users landing at once) read as a rate a person can follow, not as spikes between flat zeros.
 */
export function ratesOver(cumulative: readonly Point[], windowS: number): Point[] {
  const rates: Point[] = [];
  let from = 0;
  for (const [t, value] of cumulative) {
    while (from < cumulative.length - 1 && t - (cumulative[from + 1]?.[0] ?? t) >= windowS) from++;
    const [t0, v0] = cumulative[from] ?? [t, value];
    if (t > t0) rates.push([t, Math.round(((value - v0) / (t - t0)) * 100) / 100]);
  }
  return rates;
}

/** A sampler's memory and CPU as the report charts them: MB, and cores (CPU seconds per second). */
export function samplerCharts(result: SamplerResult): Pick<BenchReport, 'rssMb' | 'cpuCores'> {
  const names = [...new Set(result.samples.flatMap((sample) => Object.keys(sample.rssMb)))];
  const series = (value: (sample: Sample, name: string) => number) =>
    names.map((name) => [name, result.samples.map((s): Point => [s.t, value(s, name)])] as const);
  return {
    rssMb: Object.fromEntries(series((s, name) => s.rssMb[name] ?? 0)),
    cpuCores: Object.fromEntries(
      series((s, name) => (s.cpuMs[name] ?? 0) / 1000).map(([name, points]) => [name, perSecond(points)]),
    ),
  };
}

/** The machine in one line, for the report's header: cores, CPU model, memory, system and Node. */
export function machineSummary(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memoryGb = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${cpus.length} × ${model}, ${memoryGb} GB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML that shows it as it is: a label never becomes markup. */
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

/**
 * JSON for a `<script type="application/json">` block: `<` as its JSON escape, so that no string in
 * it can close the block (`</script>`) or open a comment; JSON.parse reads it back unchanged.
 */
const scriptJson = (data: unknown): string => JSON.stringify(data).replace(/</g, '\\u003c');

/** The notice uPlot's MIT license asks for, as the console page carries it. */
const UPLOT_NOTICE = '/*! uPlot, MIT License, Copyright (c) Leon Sorokin */';

interface Assets {
  readonly uplotJs: string;
  readonly uplotCss: string;
  readonly pageJs: string;
}

let assets: Assets | undefined;

/**
 * uPlot's browser build and styles from node_modules/uplot/dist (the uPlot the console page bundles),
 * and the page's own script (report-page.ts, its types stripped): read once, some 60 kB in all.
 */
function pageAssets(): Assets {
  if (assets === undefined) {
    const uplot = path.join(
      path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')),
      'dist',
    );
    const page = fileURLToPath(new URL('report-page.ts', import.meta.url));
    assets = {
      uplotJs: readFileSync(path.join(uplot, 'uPlot.iife.min.js'), 'utf8'),
      uplotCss: readFileSync(path.join(uplot, 'uPlot.min.css'), 'utf8'),
      pageJs: transformSync(readFileSync(page, 'utf8'), { loader: 'ts', format: 'iife', target: 'es2022' })
        .code,
    };
  }
  return assets;
}

const STYLE = `
:root {
  --bg: #f4f5f7; --card: #fff; --text: #1d2330; --muted: #667085; --line: #e1e4ea;
  --ok: #1f8a4c; --bad: #c62828;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  font-size: 14px; color: var(--text); background: var(--bg);
}
body { margin: 0; }
header { padding: 12px 20px; background: #1d2330; color: #fff; }
header h1 { margin: 0 0 4px; font-size: 18px; }
header p { margin: 0; color: #c5cad6; }
main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { margin: 0 0 4px; font-size: 15px; }
.unit, .stats { margin: 0 0 8px; color: var(--muted); }
.stats b { color: var(--text); }
.empty { color: var(--muted); margin: 24px 0; }
code { background: #eef0f4; padding: 1px 5px; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.value { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.note { color: var(--muted); }
.met { color: var(--ok); font-weight: 700; }
.missed { color: var(--bad); font-weight: 700; }
.chart { width: 100%; }
.uplot { font-family: inherit; }
`;

const hasPoints = (set: SeriesSet): boolean => Object.values(set).some((points) => points.length > 0);

function figuresTable(figures: readonly Figure[]): string {
  const cell = (text: string | undefined, css = ''): string =>
    `<td${css === '' ? '' : ` class="${css}"`}>${escapeHtml(text ?? '')}</td>`;
  const met = (figure: Figure): string =>
    figure.met === undefined
      ? '<td></td>'
      : figure.met
        ? '<td class="met" title="met">✓</td>'
        : '<td class="missed" title="missed">✗</td>';
  const rows = figures.map(
    (f) =>
      `<tr>${cell(f.label)}${cell(f.value, 'value')}${cell(f.target)}${met(f)}${cell(f.note, 'note')}</tr>`,
  );
  return `<table><thead><tr><th>figure</th><th>value</th><th>target</th><th>met</th><th>note</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** One chart's section of the page. */
interface ChartSection {
  /** The name the page's script knows the chart by. */
  readonly chart: string;
  readonly title: string;
  /** What the chart shows, and in what unit. */
  readonly unit: string;
  /** A line of figures above the chart, as HTML made of escaped parts. */
  readonly statsHtml?: string;
  readonly drawn: boolean;
  /** Why there is no chart, as HTML of ours (it may hold a command to run). */
  readonly emptyHtml: string;
}

/** A chart's section: its title and unit, and the element the page's script draws in, or why there is none. */
function chartSection(section: ChartSection): string {
  const stats = section.statsHtml === undefined ? '' : `<p class="stats">${section.statsHtml}</p>`;
  const body = section.drawn
    ? `<div class="chart" data-chart="${escapeHtml(section.chart)}"></div>`
    : `<p class="empty">${section.emptyHtml}</p>`;
  return `<section><h2>${escapeHtml(section.title)}</h2><p class="unit">${escapeHtml(section.unit)}</p>${stats}${body}</section>`;
}

const number = (n: number): string => escapeHtml(n.toLocaleString('en-US'));

/** An ISO timestamp as `2025-01-01 12:00:00 UTC`; any other text as it is. */
const readableTime = (iso: string): string =>
  iso.replace(/^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z$/, '$1 $2 UTC');

/** The whole page: figures, then the charts, drawn in the browser from the embedded JSON. */
export function renderReport(data: BenchReport): string {
  const { uplotJs, uplotCss, pageJs } = pageAssets();
  const { freshness } = data;
  const drawnUpTo = freshness.fromMs + freshness.counts.length * freshness.widthMs;
  const freshnessStats =
    `<b>p50</b> ${number(freshness.p50Ms)} ms · <b>p99</b> ${number(freshness.p99Ms)} ms · ` +
    `<b>max</b> ${number(freshness.maxMs)} ms · ${number(freshness.samples)} users, ` +
    `buckets of ${number(freshness.widthMs)} ms` +
    (freshness.above > 0 ? ` · ${number(freshness.above)} above ${number(drawnUpTo)} ms not drawn` : '');
  const sections = [
    `<section class="wide"><h2>Figures</h2>${
      data.figures.length > 0 ? figuresTable(data.figures) : '<p class="empty">No figures in this report.</p>'
    }</section>`,
    chartSection({
      chart: 'throughput',
      title: 'Throughput per stage',
      unit: 'users per second, over seconds since the start',
      drawn: hasPoints(data.throughput),
      emptyHtml: 'No throughput was recorded in this run.',
    }),
    chartSection({
      chart: 'lag',
      title: 'Consumer lag',
      unit: 'records behind, per consumer group, over seconds since the start',
      drawn: hasPoints(data.consumerLag),
      emptyHtml: 'No consumer lag was recorded in this run.',
    }),
    chartSection({
      chart: 'freshness',
      title: 'Freshness',
      unit: 'PostgreSQL commit → row in Cassandra: users per bucket of ms',
      ...(freshness.samples > 0 ? { statsHtml: freshnessStats } : {}),
      drawn: freshness.counts.length > 0,
      emptyHtml: 'No freshness was measured in this run.',
    }),
    chartSection({
      chart: 'scale',
      title: 'Scale',
      unit: 'the whole flow at several sizes: seconds and peak RSS, over users (log scale)',
      drawn: data.scale.length > 0,
      emptyHtml: 'No scale runs in this report: <code>npm run bench -- --scale</code> makes them.',
    }),
    chartSection({
      chart: 'rss',
      title: 'Memory per process',
      unit: 'resident memory (RSS) in MB, over seconds since the start',
      drawn: hasPoints(data.rssMb),
      emptyHtml: 'No memory was sampled in this run.',
    }),
    chartSection({
      chart: 'cpu',
      title: 'CPU per process',
      unit: 'cores in use (CPU seconds per second), over seconds since the start',
      drawn: hasPoints(data.cpuCores),
      emptyHtml: 'No CPU was sampled in this run.',
    }),
  ];
  const csp = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeHtml(data.title)}</title>
<style>${uplotCss}${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(data.title)}</h1><p>${escapeHtml(readableTime(data.when))} · ${number(data.users)} users · ${escapeHtml(data.machine)}</p></header>
<main>
${sections.join('\n')}
</main>
<script type="application/json" id="bench-data">${scriptJson(data)}</script>
<script>${UPLOT_NOTICE}
${uplotJs}</script>
<script>${pageJs}</script>
</body>
</html>
`;
}

/** Writes the report to `file` (creating its folder). */
export function writeReport(file: string, data: BenchReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderReport(data));
}
