/// <reference lib="dom" />
/**
 * The report page's script: report.ts inlines it (its types stripped) after uPlot's browser build,
 * which defines the global `uPlot`. It draws every chart the page has an element for from the run's
 * data in the page's JSON block, each as wide as its section and following it when the window resizes.
 */
import type UPlot from 'uplot';
import type { BenchReport, SeriesSet } from './report.ts';

declare const uPlot: typeof UPlot;

/** The console page's colours, so that the two look alike. */
const PALETTE = ['#2f6fdd', '#d9822b', '#2e9e5b', '#b8428f', '#6b5bd6', '#c0392b', '#1c9aa8', '#8a6d3b'];
const color = (i: number): string => PALETTE[i % PALETTE.length] ?? '#333';
const HEIGHT = 260;
/** Time-axis steps in seconds: whole minutes and hours once the run is long. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400];

const data = JSON.parse(document.getElementById('bench-data')?.textContent ?? 'null') as BenchReport;

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });
const formatNumber = (value: number): string => compact.format(value);

/**
 * An axis's labels: uPlot passes null (its types say otherwise) for a tick it leaves unlabelled, such
 * as the 20K to 90K between 10K and 100K on a log axis.
 */
const ticksAs =
  (format: (value: number) => string) =>
  (_: UPlot, ticks: (number | null)[]): string[] =>
    ticks.map((tick) => (tick === null ? '' : format(tick)));

/** A legend's value: uPlot passes null (its types say otherwise) while the cursor is off the chart. */
const legend =
  (format: (value: number) => string) =>
  (_: UPlot, value: number | null): string =>
    value === null ? '–' : format(value);

// uPlot's const enums have no value in a script that gets uPlot as a global: their numbers, named.
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- Distr.Logarithmic is 3
const LOG_SCALE = 3 as UPlot.Scale.Distr;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- Side.Right is 1
const RIGHT_SIDE = 1 as UPlot.Axis.Side;

/** Seconds since the start as `45s` or `2m30s`. */
function clock(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const rest = s % 60;
  return `${Math.floor(s / 60)}m${rest === 0 ? '' : `${String(rest).padStart(2, '0')}s`}`;
}

/** Milliseconds as `850 ms` or `1.25 s`. */
const ms = (value: number): string =>
  value >= 1000
    ? `${(value / 1000).toLocaleString('en-US', { maximumFractionDigits: 2 })} s`
    : `${value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ms`;

/** Draws a chart in the element the page made for it, and keeps it as wide as the element. */
function mount(
  chart: string,
  options: Omit<UPlot.Options, 'width' | 'height'>,
  columns: UPlot.AlignedData,
): void {
  const element = document.querySelector<HTMLElement>(`[data-chart="${chart}"]`);
  if (element === null) return;
  const width = (): number => Math.max(element.clientWidth, 200);
  const plot = new uPlot({ ...options, width: width(), height: HEIGHT }, columns, element);
  new ResizeObserver(() => {
    plot.setSize({ width: width(), height: HEIGHT });
  }).observe(element);
}

/**
 * The series on one x axis, as uPlot draws them: every series' times, sorted, and each series'
 * value at each of them (null where it has none; the line spans the gap).
 */
function aligned(set: SeriesSet): { names: string[]; columns: UPlot.AlignedData } {
  const names = Object.keys(set).filter((name) => (set[name] ?? []).length > 0);
  const times = [...new Set(names.flatMap((name) => (set[name] ?? []).map(([t]) => t)))].sort(
    (a, b) => a - b,
  );
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = names.map((name) => {
    const column = new Array<number | null>(times.length).fill(null);
    for (const [t, value] of set[name] ?? []) column[index.get(t) ?? 0] = value;
    return column;
  });
  return { names, columns: [times, ...columns] };
}

/** A y axis that starts at 0 and leaves a tenth above the highest value. */
const fromZero: UPlot.Scale.Range = (_, _min, max) => [0, max > 0 ? max * 1.1 : 1];

/** Lines over seconds since the start, one per named series. */
function timeChart(chart: string, set: SeriesSet): void {
  const { names, columns } = aligned(set);
  mount(
    chart,
    {
      series: [
        { label: 'time', value: legend(clock) },
        ...names.map((name, i) => ({
          label: name,
          stroke: color(i),
          width: 2,
          spanGaps: true,
          points: { show: false },
          value: legend(formatNumber),
        })),
      ],
      scales: { x: { time: false }, y: { range: fromZero } },
      axes: [
        { incrs: TIME_STEPS, values: ticksAs(clock) },
        { size: 56, values: ticksAs(formatNumber) },
      ],
      cursor: { drag: { x: false, y: false } },
    },
    columns,
  );
}

/** The freshness histogram: a bar per bucket, at its middle. */
function freshnessChart(): void {
  const { fromMs, widthMs, counts } = data.freshness;
  const middles = counts.map((_, i) => fromMs + (i + 0.5) * widthMs);
  const bucket = (middle: number): string => `${ms(middle - widthMs / 2)} – ${ms(middle + widthMs / 2)}`;
  const bars = uPlot.paths.bars?.({ size: [1, Infinity], gap: 1 });
  mount(
    'freshness',
    {
      series: [
        { label: 'bucket', value: legend(bucket) },
        {
          label: 'users',
          stroke: color(0),
          fill: `${color(0)}99`,
          ...(bars === undefined ? {} : { paths: bars }),
          points: { show: false },
          value: legend(formatNumber),
        },
      ],
      scales: {
        x: { time: false, range: () => [fromMs, fromMs + counts.length * widthMs] },
        y: { range: fromZero },
      },
      axes: [{ values: ticksAs(ms) }, { size: 56, values: ticksAs(formatNumber) }],
      cursor: { drag: { x: false, y: false } },
    },
    [middles, [...counts]],
  );
}

/** Seconds and peak RSS over users, on a log axis: how the flow grows with its size. */
function scaleChart(): void {
  const runs = [...data.scale].sort((a, b) => a.users - b.users);
  const line = (label: string, scale: string, i: number): UPlot.Series => ({
    label,
    scale,
    stroke: color(i),
    width: 2,
    points: { show: true, size: 7, fill: color(i) },
    value: legend(formatNumber),
  });
  mount(
    'scale',
    {
      series: [
        { label: 'users', value: legend(formatNumber) },
        line('seconds', 's', 0),
        line('peak RSS, MB', 'mb', 1),
      ],
      scales: {
        x: { time: false, distr: LOG_SCALE, log: 10 },
        s: { range: fromZero },
        mb: { range: fromZero },
      },
      axes: [
        { values: ticksAs(formatNumber) },
        { scale: 's', label: 'seconds', size: 56, values: ticksAs(formatNumber) },
        {
          scale: 'mb',
          label: 'MB',
          side: RIGHT_SIDE,
          size: 56,
          grid: { show: false },
          values: ticksAs(formatNumber),
        },
      ],
      cursor: { drag: { x: false, y: false } },
    },
    [runs.map((r) => r.users), runs.map((r) => r.seconds), runs.map((r) => r.peakRssMb)],
  );
}

timeChart('throughput', data.throughput);
timeChart('lag', data.consumerLag);
freshnessChart();
scaleChart();
timeChart('rss', data.rssMb);
timeChart('cpu', data.cpuCores);
