/**
 * A differentiable piece of a render step written into an ONNX graph: the forward ops, emitted
 * when the part is built, and its vector-Jacobian product, emitted when the backward pass reaches
 * it (`vjp`: the gradient with respect to the part's input from the gradient with respect to its
 * output). Parts are pure graph emitters over a `GraphBuilder`: they own no session and no state;
 * per-step values (a step's transform, Adam's bias corrections) come in as tensor names.
 */

export interface Part {
  /** The output tensor's name. */
  out: string;
  /** Emits dInput from dOutput (names); may reuse the forward's tensors. */
  vjp(dy: string): string;
}
