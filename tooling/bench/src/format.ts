// Number formatting shared by the console table, the Markdown and the charts.
import type { Unit } from './registry.js';

export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  if (ns < 1_000) return `${ns < 100 ? ns.toFixed(1) : ns.toFixed(0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1e3).toFixed(ns < 10_000 ? 2 : 1)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

export function formatValue(value: number | undefined, unit: Unit): string {
  if (value === undefined) return '';
  switch (unit) {
    case 'ns':
      return formatNs(value);
    case 'GB/s':
      return `${value.toFixed(2)} GB/s`;
    case 'threads':
      return `${value.toFixed(0)} ${Math.abs(value) === 1 ? 'thread' : 'threads'}`;
    case 'MiB':
      return `${value.toFixed(Math.abs(value) < 10 ? 2 : 1)} MiB`;
  }
}

export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '';
  return `${ratio < 10 ? ratio.toFixed(2) : ratio.toFixed(1)}x`;
}
