/** Shared helpers for the lucid experiments and the quality report (bench only). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../pipeline/engine/backend.ts';
import type { LeanGraph } from '../pipeline/engine/graph.ts';
import { loadLabels, loadModel } from '../pipeline/model/load.ts';

export interface LoadedGraph {
  graph: LeanGraph;
  labels: string[];
  outputNode: string;
  logitNode: string;
}

export async function loadGraph(dir: string): Promise<LoadedGraph> {
  const { graph } = await loadModel(path.join(dir, 'model.json'));
  const outputNode = graph.nodes[graph.nodes.length - 1]!.name;
  const labels = await loadLabels(path.join(dir, 'labels.json'), 1000);
  return { graph, labels, outputNode, logitNode: graph.logitNode ?? outputNode };
}

export async function wasm(): Promise<void> {
  await selectBackend('wasm');
}

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** The shared models: ATLAS_MODELS, else ../shared/models beside the checkout. */
export const SHARED_MODELS = path.resolve(process.env.ATLAS_MODELS ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'models'));
