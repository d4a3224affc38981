/**
 * The gradient engine for a selected backend and a lean graph: the ONNX engine where the backend is
 * `onnx-*` and the compiler has a rule for every node of the graph, the TF.js lean graph otherwise
 * (with the reason, for the log).
 */
import type { SelectedBackend } from './backend.ts';
import type { GradientEngine } from './engine.ts';
import { unsupportedReason, type LeanNode } from './onnx/compile.ts';
import { physicalCores } from './cores.ts';

export interface EngineSelection {
  engine: GradientEngine;
  /** Why the ONNX engine was not used although the backend is `onnx-*`; undefined otherwise. */
  fallback?: string;
}

export interface EngineOptions {
  /** ORT intra-op threads (default: physical cores; a workers plan passes cores ÷ workers). */
  threads?: number;
}

/**
 * `tfjs` builds the TF.js engine (the lean graph on the selected TF.js backend); it is called only
 * when the ONNX engine is not used.
 */
export async function createGradientEngine(selected: SelectedBackend, graph: { nodes: LeanNode[] }, tfjs: () => GradientEngine, options: EngineOptions = {}): Promise<EngineSelection> {
  if (!selected.onnx) return { engine: tfjs() };
  const reason = unsupportedReason(graph.nodes);
  if (reason) return { engine: tfjs(), fallback: `${selected.name} cannot compile this model (${reason}); the TF.js lean graph runs instead` };
  const { loadOrt } = await import('./onnx/runtime.ts');
  const { OnnxEngine } = await import('./onnx/engine.ts');
  const threads = options.threads ?? physicalCores();
  return { engine: new OnnxEngine(graph.nodes, { ort: await loadOrt(), provider: selected.onnx, threads }) };
}
