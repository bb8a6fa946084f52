import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface ChartSeries {
  label: string;
  values: number[];
}

const COLOURS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

/**
 * A time chart drawn by uPlot: x in unix seconds (shown in the browser's time zone), one line
 * per series. It follows its container's width, so it fits a phone as well as a desktop.
 */
export function TimeChart(props: { title: string; x: number[]; series: ChartSeries[]; height?: number; bars?: boolean }) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const width = () => Math.max(240, element.clientWidth);
    const options: uPlot.Options = {
      width: width(),
      height: props.height ?? 220,
      series: [
        {},
        ...props.series.map((series, index) => ({
          label: series.label,
          stroke: COLOURS[index % COLOURS.length],
          fill: props.bars ? `${COLOURS[index % COLOURS.length]}33` : undefined,
          width: 2,
          points: { show: props.x.length < 50 },
        })),
      ],
      axes: [{}, { size: 60 }],
      // Series names only: values under a cursor are read off the axes.
      legend: { show: true, live: false },
    };
    const chart = new uPlot(options, [props.x, ...props.series.map((series) => series.values)], element);
    const resize = new ResizeObserver(() => chart.setSize({ width: width(), height: props.height ?? 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.x, props.series, props.height, props.bars]);

  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={container} role="img" aria-label={props.title} />
    </figure>
  );
}

/** Points of several groups as aligned columns: the sorted buckets, and per group a value for each (0 when absent). */
export function alignSeries<P extends { bucket: number; group: string }>(points: P[], value: (point: P) => number) {
  const x = [...new Set(points.map((point) => point.bucket))].sort((a, b) => a - b);
  const index = new Map(x.map((bucket, position) => [bucket, position]));
  const groups = new Map<string, number[]>();
  for (const point of points) {
    const values = groups.get(point.group) ?? groups.set(point.group, new Array(x.length).fill(0)).get(point.group)!;
    values[index.get(point.bucket)!] += value(point);
  }
  return { x, series: [...groups].map(([label, values]) => ({ label, values })) };
}
