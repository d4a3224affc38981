/**
 * Layer names PyTorch users know, recovered from the node names `torch.onnx.export` writes: a node
 * `/layer3/layer3.1/conv2/Conv` belongs to module `layer3.1.conv2` (each scope names a child, or
 * extends the scope before it: `layer3` → `layer3.1`, `downsample` → `downsample.0`), and `/features/features.10/Relu` to `features.10`.
 * A module called twice (ResNet's `relu`) gets scopes `relu` and `relu_1`: its last call, the one a
 * forward hook (Lucent) sees, takes the module's name, an earlier call `<module>:<k>` (k from 1).
 * Several nodes of one call: the last takes the name, the others `<name>/<OpType>`.
 */

/** The module path of an exporter node name; '' for a node outside any module or an unscoped name. */
export function modulePath(nodeName: string): string {
  const parts = nodeName.split('/').filter(Boolean);
  let out = '';
  let prev = '';
  for (const p of parts.slice(0, -1)) {
    // A scope that extends the previous one (`layer3` → `layer3.1`, `downsample` → `downsample.0`) replaces it.
    out = prev && p.startsWith(`${prev}.`) ? `${out.slice(0, out.length - prev.length)}${p}` : out ? `${out}.${p}` : p;
    prev = p;
  }
  return out;
}

export interface Named {
  /** The node's module path ('' outside modules). */
  module: string;
  opType: string;
  /** The ONNX node's own name, or its output's (a name for nodes outside modules). */
  fallback: string;
}

/** Unique names for lean nodes in graph order (see the file comment); `taken` holds names already used (the input). */
export function assignNames(nodes: Named[], taken: Set<string>): string[] {
  const modules = new Set(nodes.map((n) => n.module).filter(Boolean));
  // "relu_1" is the second call of "relu" when "relu" is a module too.
  const callOf = (m: string): { base: string; call: number } => {
    const match = /^(.*)_(\d+)$/.exec(m);
    return match && modules.has(match[1]!) ? { base: match[1]!, call: Number(match[2]) + 1 } : { base: m, call: 1 };
  };
  const lastCall = new Map<string, number>();
  for (const m of modules) {
    const { base, call } = callOf(m);
    lastCall.set(base, Math.max(lastCall.get(base) ?? 1, call));
  }
  const lastIndex = new Map<string, number>();
  nodes.forEach((n, i) => lastIndex.set(n.module, i));
  const used = new Set(taken);
  const unique = (name: string): string => {
    let out = name;
    for (let k = 1; used.has(out); k++) out = `${name}_${k}`;
    used.add(out);
    return out;
  };
  // Bare module names first, so that helper nodes never take them.
  const names: (string | undefined)[] = nodes.map((n, i) => {
    if (!n.module || lastIndex.get(n.module) !== i) return undefined;
    const { base, call } = callOf(n.module);
    return unique(call === lastCall.get(base) ? base : `${base}:${call}`);
  });
  return nodes.map((n, i) => {
    if (names[i]) return names[i]!;
    if (!n.module) return unique(n.fallback.replace(/^\/+/, '') || n.opType);
    const { base, call } = callOf(n.module);
    const owner = call === lastCall.get(base) ? base : `${base}:${call}`;
    return unique(`${owner}/${n.opType}`);
  });
}

/** Lucent's form of a module path (`layer3_1_conv2`): dots (and call marks, scopes) as underscores. */
export function lucentName(name: string): string {
  return name.replace(/[.:/]/g, '_');
}
