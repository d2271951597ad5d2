/// <reference lib="dom" />
import uPlot from 'uplot';
import type { SeriesData } from './history.ts';

/** uPlot charts, created once per panel and fed new data on every snapshot (no re-creation). */

export const PALETTE = [
  '#2f6fdd',
  '#d9822b',
  '#2e9e5b',
  '#b8428f',
  '#6b5bd6',
  '#c0392b',
  '#1c9aa8',
  '#8a6d3b',
];

export interface ChartOptions {
  readonly height: number;
  /** No axes, legend or cursor: a small trend line next to a figure. */
  readonly sparkline?: boolean;
  /** Bars over categories (x = 0, 1, …, named by `setData`'s `categories`), instead of lines over time. */
  readonly bars?: boolean;
  readonly yFormat?: (value: number) => string;
}

/** A chart in `container`, sized to its width; `setData` redraws it with new series. */
export class Chart {
  private plot: uPlot | null = null;
  private shape = '';
  private categories: readonly string[] = [];
  private readonly container: HTMLElement;
  private readonly options: ChartOptions;

  constructor(container: HTMLElement, options: ChartOptions) {
    this.container = container;
    this.options = options;
    // Cards change width with the window: the chart follows.
    new ResizeObserver(() => {
      this.plot?.setSize({ width: this.width(), height: this.options.height });
    }).observe(container);
  }

  /**
   * Redraws with `data`; `labels` name its series, `categories` a bar chart's x values. New names
   * (a partition added, other buckets) build the chart anew.
   */
  setData(data: SeriesData, labels: readonly string[], categories: readonly string[] = []): void {
    const shape = JSON.stringify([labels, categories]);
    if (this.plot === null || shape !== this.shape) {
      this.plot?.destroy();
      this.shape = shape;
      this.categories = categories;
      this.plot = new uPlot(this.plotOptions(labels), data, this.container);
    } else {
      this.plot.setData(data);
    }
  }

  private width(): number {
    return Math.max(this.container.clientWidth, 60);
  }

  private plotOptions(labels: readonly string[]): uPlot.Options {
    const { height, sparkline = false, yFormat } = this.options;
    const categories = this.categories;
    const bars = this.options.bars === true ? uPlot.paths.bars?.({ size: [0.8, 40] }) : undefined;
    const series: uPlot.Series[] = labels.map((label, i) => ({
      label,
      stroke: PALETTE[i % PALETTE.length] ?? '#333',
      width: sparkline ? 1.5 : 2,
      ...(bars === undefined ? {} : { paths: bars, fill: `${PALETTE[i % PALETTE.length] ?? '#333'}99` }),
      spanGaps: false,
      points: { show: false },
    }));
    const valueFormat = (_: uPlot, values: number[]) => values.map((v) => (yFormat ?? String)(v));
    return {
      width: this.width(),
      height,
      series: [{}, ...series],
      legend: { show: !sparkline && labels.length > 1, live: false },
      cursor: { show: !sparkline, drag: { x: false, y: false } },
      scales: {
        x:
          bars === undefined
            ? { time: true }
            : { time: false, range: (): uPlot.Range.MinMax => [-0.5, categories.length - 0.5] },
        // Counts and lags start at zero: a flat line near the top would read as a large value.
        y: { range: (_, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
      },
      axes: sparkline
        ? [{ show: false }, { show: false }]
        : [
            bars === undefined
              ? { size: 28 }
              : {
                  size: 28,
                  values: (_, ticks) => ticks.map((tick) => categories[tick] ?? ''),
                  splits: () => categories.map((_, i) => i),
                },
            { size: 52, values: valueFormat },
          ],
    };
  }
}
