import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SamplerResult } from '#scripts/bench/proc-sampler.ts';
import {
  freshnessHistogram,
  perSecond,
  ratesOver,
  renderReport,
  samplerCharts,
  writeReport,
  type BenchReport,
  type Point,
} from '#scripts/bench/report.ts';

const INJECTED = '<script>alert("label")</script>';

const sample: BenchReport = {
  title: 'Pipeline benchmark',
  when: '2025-01-01T12:00:00.000Z',
  users: 100_000,
  machine: '2 × Test CPU, 8.0 GB RAM, Linux 6.1, Node v22.0.0',
  figures: [
    { label: 'publish → Kafka', value: '17,400 msg/s', target: '≥ 15000', met: true, note: '100000 events' },
    { label: 'sink → Cassandra', value: '7,300 rows/s', target: '≥ 8000', met: false },
    { label: INJECTED, value: '1 & 2' },
  ],
  throughput: {
    fetch: [
      [1, 9000],
      [2, 9100],
    ],
    sink: [
      [1.5, 7000],
      [2.5, 7300],
    ],
  },
  consumerLag: { [INJECTED]: [[0, 10]] },
  freshness: freshnessHistogram([120, 300, 450, 2000]),
  rssMb: { postgres: [[0, 120.5]] },
  cpuCores: { postgres: [[1, 0.25]] },
  scale: [],
};

/** The page's embedded data block. */
const embedded = (html: string): unknown => {
  const json = /<script type="application\/json" id="bench-data">([^<]*)<\/script>/.exec(html)?.[1];
  if (json === undefined) throw new Error('no data block');
  return JSON.parse(json);
};

describe('renderReport', () => {
  const html = renderReport(sample);

  it('is one page that loads nothing from elsewhere, with uPlot inlined', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<(script|img|iframe|link)\b[^>]*\b(src|href)\s*=/i);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain('var uPlot=');
    expect(html).toContain('.uplot');
  });

  it('escapes text from the data: a label cannot become markup', () => {
    expect(html).not.toContain(INJECTED);
    expect(html).toContain('&lt;script&gt;alert(&quot;label&quot;)&lt;/script&gt;');
    expect(html).toContain('1 &amp; 2');
    // Three script blocks: the data, uPlot and the page's own; none from the data.
    expect(html.match(/<script\b/g)).toHaveLength(3);
  });

  it('embeds the data as JSON that reads back unchanged', () => {
    expect(embedded(html)).toEqual(sample);
  });

  it('shows the figures with their targets as ✓ or ✗, and the freshness figures', () => {
    expect(html).toContain('<td class="met" title="met">✓</td>');
    expect(html).toContain('<td class="missed" title="missed">✗</td>');
    expect(html).toContain('2025-01-01 12:00:00 UTC · 100,000 users');
    expect(html).toMatch(/<b>p50<\/b> 450 ms · <b>p99<\/b> 2,000 ms · <b>max<\/b> 2,000 ms/);
  });

  it('draws each chart that has data, and says how to make the scale curve when there is none', () => {
    for (const chart of ['throughput', 'lag', 'freshness', 'rss', 'cpu']) {
      expect(html, chart).toContain(`data-chart="${chart}"`);
    }
    expect(html).not.toContain('data-chart="scale"');
    expect(html).toContain('<code>npm run bench -- --scale</code>');
    const withScale = renderReport({ ...sample, scale: [{ users: 1000, seconds: 2, peakRssMb: 150 }] });
    expect(withScale).toContain('data-chart="scale"');
  });

  it('writes the page to a file', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-report-')), 'nested', 'report.html');
    writeReport(file, sample);
    expect(readFileSync(file, 'utf8')).toBe(html);
  });
});

describe('freshnessHistogram', () => {
  it('buckets samples in at most 60 buckets of a round width, from the lowest', () => {
    const samples = Array.from({ length: 10_000 }, (_, i) => 200 + (i % 1000));
    const histogram = freshnessHistogram(samples);
    expect(histogram).toMatchObject({ fromMs: 200, widthMs: 20, samples: 10_000, above: 0 });
    expect(histogram.counts).toHaveLength(50);
    expect(histogram.counts.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(histogram).toMatchObject({ p50Ms: 700, p99Ms: 1190, maxMs: 1199 });
  });

  it('leaves the slowest 0.1% out of the buckets, so that one outlier does not squash the rest', () => {
    const samples = [...Array.from({ length: 9999 }, (_, i) => 100 + (i % 100)), 60_000];
    const histogram = freshnessHistogram(samples);
    expect(histogram.counts.length).toBeLessThanOrEqual(60);
    expect(histogram.fromMs + histogram.counts.length * histogram.widthMs).toBeLessThan(300);
    expect(histogram).toMatchObject({ above: 1, maxMs: 60_000, samples: 10_000 });
  });

  it('never exceeds 60 buckets, whatever the spread', () => {
    for (const spread of [1, 7, 59, 61, 599, 12_345, 1e6]) {
      const samples = Array.from({ length: 2000 }, (_, i) => 3 + (i * spread) / 1999);
      const { counts, above } = freshnessHistogram(samples);
      expect(counts.length, `spread ${spread}`).toBeLessThanOrEqual(60);
      expect(counts.reduce((a, b) => a + b, 0) + above, `spread ${spread}`).toBe(2000);
    }
  });

  it('is empty for no samples', () => {
    expect(freshnessHistogram([])).toMatchObject({ counts: [], samples: 0, p99Ms: 0 });
  });
});

describe('perSecond and samplerCharts', () => {
  it('turns a cumulative count into a rate per second at each later point', () => {
    expect(
      perSecond([
        [0, 0],
        [2, 100],
        [2, 100],
        [3, 250],
      ]),
    ).toEqual([
      [2, 50],
      [3, 150],
    ]);
  });

  it("gives a sampler's memory in MB and its CPU as cores in use", () => {
    const result: SamplerResult = {
      startedAt: 0,
      marks: [],
      samples: [
        { t: 0, cpuMs: { kafka: 0 }, rssMb: { kafka: 500 } },
        { t: 1, cpuMs: { kafka: 1500 }, rssMb: { kafka: 510 } },
        { t: 3, cpuMs: { kafka: 2500 }, rssMb: { kafka: 505.5 } },
      ],
    };
    expect(samplerCharts(result)).toEqual({
      rssMb: {
        kafka: [
          [0, 500],
          [1, 510],
          [3, 505.5],
        ],
      },
      cpuCores: {
        kafka: [
          [1, 1.5],
          [3, 0.5],
        ],
      },
    });
  });
});

describe('ratesOver', () => {
  it('averages a counter that moves in steps over the trailing window', () => {
    const steps: Point[] = [
      [0, 0],
      [1, 5000],
      [2, 5000],
      [3, 10_000],
      [4, 10_000],
      [5, 15_000],
      [6, 15_000],
    ];
    expect(ratesOver(steps, 2)).toEqual([
      [1, 5000],
      [2, 2500],
      [3, 2500],
      [4, 2500],
      [5, 2500],
      [6, 2500],
    ]);
    expect(ratesOver([[0, 7]], 5)).toEqual([]);
  });
});
