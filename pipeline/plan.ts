/**
 * From a validated config and a loaded model to the list of units to render: layer names checked
 * against the model (with close names on a miss), filter selections against each layer's channel
 * count, classes against the labels. Pure: no tensors, no files.
 */
import type { FilterSelection } from './config/schema.ts';
import { AtlasError, closest } from './errors.ts';
import type { GraphNode } from './engine/graph.ts';
import type { UnitId } from './output/paths.ts';

export interface PlannedLayer {
  name: string;
  className: string;
  outputShape: number[];
  filterCount: number;
  filters: number[];
}

/** Expands a filter selection against a layer's channel count. */
export function expandFilters(selection: FilterSelection, count: number, where: string, keyPath?: (string | number)[]): number[] {
  const out = new Set<number>();
  const add = (i: number) => {
    if (i >= count) throw new AtlasError(`${where}: filter ${i} is out of range: the layer has ${count} filters, expected 0-${count - 1}`, { key: where, path: keyPath });
    out.add(i);
  };
  const addRange = (text: string) => {
    const [a, b] = text.split('-').map((s) => Number(s.trim())) as [number, number];
    if (a > b) throw new AtlasError(`${where}: range "${text}" runs backwards; expected "${b}-${a}"`, { key: where, path: keyPath });
    for (let i = a; i <= b; i++) add(i);
  };
  if (selection === 'all') for (let i = 0; i < count; i++) out.add(i);
  else if (typeof selection === 'number') add(selection);
  else if (typeof selection === 'string') addRange(selection);
  else for (const s of selection) typeof s === 'number' ? add(s) : addRange(s);
  return [...out].sort((x, y) => x - y);
}

export function planLayers(layers: Record<string, FilterSelection>, nodes: GraphNode[]): PlannedLayer[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  // Lucent's names of PyTorch modules (`layer3_1_conv2` for `layer3.1.conv2`), where one node answers.
  const underscored = (n: string) => n.replace(/[.:/]/g, '_');
  const lucent = (name: string) => {
    const found = nodes.filter((n) => underscored(n.name) === name);
    return found.length === 1 ? found[0] : undefined;
  };
  return Object.entries(layers).map(([key, selection]) => {
    const node = byName.get(key) ?? lucent(key);
    const name = node?.name ?? key;
    if (!node) {
      const names = nodes.filter((n) => n.outputShape.length === 3).map((n) => n.name);
      throw new AtlasError(`layers.${name}: the model has no layer "${name}"; expected one of its ${names.length} feature-map layers, closest: ${closest(name, names, 5).join(', ')}`, {
        key: `layers.${key}`,
        path: ['layers', key],
      });
    }
    if (node.outputShape.length !== 3 || node.outputShape.some((d) => d == null)) {
      throw new AtlasError(`layers.${name}: layer "${name}" has output shape [${node.outputShape.join(', ')}]; filters need a [height, width, channels] feature map`, {
        key: `layers.${key}`,
        path: ['layers', key],
      });
    }
    const filterCount = node.outputShape[2] as number;
    return { name, className: node.className, outputShape: node.outputShape as number[], filterCount, filters: expandFilters(selection, filterCount, `layers.${key}`, ['layers', key]) };
  });
}

/** A label's comma-separated names ("goldfish, Carassius auratus"). */
function synonyms(label: string): string[] {
  return [label, ...label.split(/\s*,\s*/)];
}

/**
 * Class units need class scores: a model whose output is a feature map (a trunk without a
 * classifier) has none, and maximizing its channels 0, 1, … as "classes" would be wrong.
 */
export function checkClassifier(classes: unknown[], output: { name: string; outputShape: (number | null)[] }): void {
  if (classes.length === 0 || output.outputShape.length === 1) return;
  throw new AtlasError(
    `classes: the model has no classifier: its output layer "${output.name}" has shape [${output.outputShape.join(', ')}], not a vector of class scores; remove classes, or use filters of that layer instead`,
    { key: 'classes', path: ['classes'] },
  );
}

export function planClasses(classes: (number | string)[], labels: string[], output?: { name: string; outputShape: (number | null)[] }): { id: number; label: string }[] {
  if (output) checkClassifier(classes, output);
  const seen = new Set<number>();
  const out: { id: number; label: string }[] = [];
  for (const [i, c] of classes.entries()) {
    const where = { key: `classes[${i}]`, path: ['classes', i] };
    let id: number;
    if (typeof c === 'number') {
      if (c >= labels.length) throw new AtlasError(`classes[${i}]: class id ${c} is out of range: the model has ${labels.length} classes, expected 0-${labels.length - 1}`, where);
      id = c;
    } else {
      // Exact label, then case-insensitive, then one of a label's comma-separated synonyms.
      const lower = c.toLowerCase();
      const exact = labels.findIndex((l) => l === c);
      const caseless = exact >= 0 ? exact : labels.findIndex((l) => l.toLowerCase() === lower);
      const loose = caseless >= 0 ? caseless : labels.findIndex((l) => synonyms(l.toLowerCase()).includes(lower));
      if (loose < 0) {
        if (/^\d+$/.test(c)) throw new AtlasError(`classes[${i}]: "${c}" is a string; write class ids as numbers (${c})`, where);
        throw new AtlasError(
          `classes[${i}]: no class named ${JSON.stringify(c)}; expected a class id (0-${labels.length - 1}) or a label, closest: ${closest(c, labels, 5, synonyms)
            .map((l) => JSON.stringify(l))
            .join(', ')}`,
          where,
        );
      }
      id = loose;
    }
    if (!seen.has(id)) out.push({ id, label: labels[id]! });
    seen.add(id);
  }
  return out;
}

export interface PlannedUnit extends UnitId {
  /** The graph node the objective reads. */
  target: string;
  label: string;
}

export function planUnits(methods: string[], layers: PlannedLayer[], classes: { id: number; label: string }[], scoreLayer: string): PlannedUnit[] {
  const units: PlannedUnit[] = [];
  for (const method of methods) {
    for (const layer of layers) {
      for (const f of layer.filters) units.push({ kind: 'filter', method, layer: layer.name, index: f, target: layer.name, label: `${layer.name} #${f}` });
    }
    for (const c of classes) units.push({ kind: 'class', method, index: c.id, target: scoreLayer, label: c.label });
  }
  return units;
}

/** Consecutive units with the same method, kind and target, in chunks of at most `size` (per target when a function). */
export function batches<T extends Pick<PlannedUnit, 'method' | 'kind' | 'target'>>(units: T[], size: number | ((target: string) => number)): T[][] {
  const limit = typeof size === 'number' ? () => size : size;
  const out: T[][] = [];
  for (const u of units) {
    const last = out[out.length - 1];
    const head = last?.[0];
    if (last && head && last.length < limit(u.target) && head.method === u.method && head.kind === u.kind && head.target === u.target) last.push(u);
    else out.push([u]);
  }
  return out;
}
