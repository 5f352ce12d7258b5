// The four charts (uPlot): filled from the daemon's recent history (`GET /v1/metrics/history`, the last five minutes,
// one sample a second) when the page loads, then at each poll the samples the daemon took since (`?since=`). The time axis always spans the last five
// minutes up to the newest sample, labelled HH:MM:SS like the header clock; the y axes are sized to their labels.
// For the browser tests each chart element carries data-points (columns drawn), data-first-points (at the first
// draw with data), data-x-labels, data-y-labels (JSON) and data-plot-left (CSS px left of the plot area).

import { api, byId } from './util.js';
import { latencyLabels, numberLabels, timeLabels } from './format.js';

const WINDOW_S = 300;
const MAX_POINTS = 400;
const CHART_HEIGHT = 180;
const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const GAP_PX = 5;

/** Latency tick steps that read well in ms, s and min. */
const LATENCY_INCRS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];

/** Whole steps on the axes that count tasks and threads. */
const COUNT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 1_000_000];

const CHARTS = [
  { id: 'chart-throughput', labels: (splits) => numberLabels(splits), series: [['1 s', '#2563eb', 'throughput1s'], ['10 s', '#16a34a', 'throughput10s']] },
  { id: 'chart-latency', labels: latencyLabels, incrs: LATENCY_INCRS, series: [['p50', '#16a34a', 'p50'], ['p95', '#d97706', 'p95'], ['p99', '#dc2626', 'p99']] },
  { id: 'chart-queue', labels: (splits) => numberLabels(splits), incrs: COUNT_INCRS, series: [['queued', '#7c3aed', 'queued'], ['running', '#2563eb', 'running'], ['delayed', '#d97706', 'delayed']] },
  { id: 'chart-threads', labels: (splits) => numberLabels(splits), incrs: COUNT_INCRS, series: [['threads', '#0891b2', 'threads'], ['target', '#64748b', 'target'], ['busy', '#db2777', 'busy']] },
];

/** Columns shared by every chart: x in seconds, one column per sample. */
const timeline = { t: [] };
const charts = [];

const measure = document.createElement('canvas').getContext('2d');

/** The width of the widest label plus ticks and gap: the axis is never narrower than what it shows. */
function fitLabels(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1 && axis._size) return axis._size;
  // Measured on a canvas of its own (uPlot caches the font it set on its own), in CSS pixels.
  measure.font = AXIS_FONT;
  const widest = Math.max(0, ...(values ?? []).map((v) => measure.measureText(String(v)).width));
  return Math.ceil(widest + axis.ticks.size + GAP_PX + 4);
}

/** Always the last five minutes, ending at the newest sample (or now): never the range of one point or none. */
function xRange() {
  const end = timeline.t.at(-1) ?? Date.now() / 1000;
  return [end - WINDOW_S, end];
}

function describe(target, spec, u) {
  const points = timeline.t.length;
  target.dataset.points = String(points);
  if (points > 0 && target.dataset.firstPoints === undefined) target.dataset.firstPoints = String(points);
  target.dataset.xLabels = JSON.stringify(spec.xShown ?? []);
  target.dataset.yLabels = JSON.stringify(spec.yShown ?? []);
  target.dataset.plotLeft = String(Math.round(u.bbox.left / devicePixelRatio));
  target.dataset.axisFont = AXIS_FONT;
}

function createChart(spec) {
  const target = byId(spec.id);
  const series = [{}, ...spec.series.map(([label, stroke]) => ({ label, stroke, width: 2, points: { show: false }, spanGaps: false }))];
  const options = {
    width: target.clientWidth,
    height: CHART_HEIGHT,
    series,
    legend: { live: false },
    scales: {
      x: { time: true, range: xRange },
      y: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.05)] },
    },
    axes: [
      { font: AXIS_FONT, space: 70, values: (_u, splits) => (spec.xShown = timeLabels(splits)) },
      { font: AXIS_FONT, gap: GAP_PX, values: (_u, splits) => (spec.yShown = spec.labels(splits)), size: fitLabels, ...(spec.incrs ? { incrs: spec.incrs } : {}) },
    ],
    hooks: { draw: [(u) => describe(target, spec, u)] },
  };
  const data = [timeline.t, ...spec.series.map(() => [])];
  const plot = new uPlot(options, data, target);
  charts.push({ spec, plot, data });
  new ResizeObserver(() => plot.setSize({ width: target.clientWidth, height: CHART_HEIGHT })).observe(target);
}

/** Appends samples newer than the newest drawn, keeps the window, redraws. */
function append(samples) {
  const last = timeline.t.at(-1) ?? -Infinity;
  const fresh = samples.filter((s) => s.at / 1000 > last);
  if (fresh.length === 0) return;
  for (const s of fresh) timeline.t.push(s.at / 1000);
  for (const chart of charts) {
    chart.spec.series.forEach(([, , field], i) => chart.data[i + 1].push(...fresh.map((s) => s[field] ?? null)));
  }
  const end = timeline.t.at(-1);
  let drop = timeline.t.findIndex((t) => t > end - WINDOW_S);
  drop = Math.max(drop === -1 ? 0 : drop, timeline.t.length - MAX_POINTS);
  if (drop > 0) for (const column of [timeline.t, ...charts.flatMap((c) => c.data.slice(1))]) column.splice(0, drop);
  for (const chart of charts) chart.plot.setData(chart.data);
}

/** Draws the charts, filled with the daemon's recent history (empty when it cannot be read). */
export async function initCharts() {
  for (const spec of CHARTS) createChart(spec);
  try {
    const history = await api('/v1/metrics/history');
    append(Array.isArray(history?.samples) ? history.samples : []);
  } catch {
    // An older daemon, or signed out: the charts start with the live samples.
  }
}

/** The samples the daemon took since the newest drawn (one home for what a sample holds: history.ts). */
export async function refreshCharts() {
  const last = timeline.t.at(-1);
  const history = await api(last === undefined ? '/v1/metrics/history' : `/v1/metrics/history?since=${Math.floor(last * 1000)}`);
  append(Array.isArray(history?.samples) ? history.samples : []);
}
