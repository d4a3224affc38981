/**
 * A small GIF decoder for page scripts (no dependencies): every frame composited onto the logical
 * screen as RGBA, as a viewer shows it (frame rectangles, transparency, disposal, interlacing), and
 * each frame's delay. Used to make the frames ZIP in the browser from the published GIF, and by the
 * frame slider; tested against sharp's decoder (test/media-gif.test.ts).
 */

export interface DecodedGif {
  width: number;
  height: number;
  /** One RGBA image (width × height × 4) per frame, composited. */
  frames: Uint8ClampedArray[];
  /** Delay of each frame in ms (0 when the file gives none). */
  delays: number[];
}

/** LZW-decodes one image's indices (`count` of them; a short stream leaves the rest 0). */
function lzw(data: Uint8Array, minCodeSize: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < clear; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let size = minCodeSize + 1;
  let next = end + 1;
  let prev = -1;
  let acc = 0;
  let bits = 0;
  let at = 0;
  let op = 0;
  while (op < count) {
    while (bits < size) {
      if (at >= data.length) return out;
      acc |= data[at++]! << bits;
      bits += 8;
    }
    const code = acc & ((1 << size) - 1);
    acc >>>= size;
    bits -= size;
    if (code === clear) {
      size = minCodeSize + 1;
      next = end + 1;
      prev = -1;
      continue;
    }
    if (code === end) break;
    if (prev === -1) {
      if (code >= clear) throw new Error(`GIF: bad first code ${code}`);
      out[op++] = code;
      prev = code;
      continue;
    }
    if (code > next) throw new Error(`GIF: code ${code} beyond the table (${next})`);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = code < next ? first[code]! : first[prev]!;
      first[next] = first[prev]!;
      length[next] = length[prev]! + 1;
      next++;
      if (next === 1 << size && size < 12) size++;
    }
    const len = length[code]!;
    for (let k = code, i = len - 1; i >= 0; i--, k = prefix[k]!) if (op + i < count) out[op + i] = suffix[k]!;
    op += len;
    prev = code;
  }
  return out;
}

/** Row order of an interlaced image: the 4 passes. */
function rowOrder(h: number, interlaced: boolean): number[] {
  if (!interlaced) return Array.from({ length: h }, (_, i) => i);
  const rows: number[] = [];
  for (const [start, step] of [
    [0, 8],
    [4, 8],
    [2, 4],
    [1, 2],
  ] as const)
    for (let r = start; r < h; r += step) rows.push(r);
  return rows;
}

export function decodeGif(bytes: Uint8Array): DecodedGif {
  const signature = String.fromCharCode(...bytes.subarray(0, 6));
  if (signature !== 'GIF87a' && signature !== 'GIF89a') throw new Error('not a GIF file');
  let p = 6;
  const u8 = () => {
    if (p >= bytes.length) throw new Error('GIF: file ends early');
    return bytes[p++]!;
  };
  const u16 = () => u8() | (u8() << 8);
  const subBlocks = (): Uint8Array => {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let n = u8(); n > 0; n = u8()) {
      parts.push(bytes.subarray(p, p + n));
      total += n;
      p += n;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const part of parts) {
      out.set(part, o);
      o += part.length;
    }
    return out;
  };
  const width = u16();
  const height = u16();
  const flags = u8();
  p += 2; // background colour index, aspect ratio
  const table = (f: number) => {
    const n = 3 * (1 << ((f & 7) + 1));
    const t = bytes.subarray(p, p + n);
    p += n;
    return t;
  };
  const global = flags & 0x80 ? table(flags) : undefined;
  const canvas = new Uint8ClampedArray(width * height * 4);
  const frames: Uint8ClampedArray[] = [];
  const delays: number[] = [];
  let control = { disposal: 0, transparent: -1, delay: 0 };
  for (;;) {
    const block = u8();
    if (block === 0x3b) break;
    if (block === 0x21) {
      const label = u8();
      const body = subBlocks();
      if (label === 0xf9 && body.length >= 4) control = { disposal: (body[0]! >> 2) & 7, transparent: body[0]! & 1 ? body[3]! : -1, delay: (body[1]! | (body[2]! << 8)) * 10 };
      continue;
    }
    if (block !== 0x2c) throw new Error(`GIF: unexpected block 0x${block.toString(16)} at byte ${p - 1}`);
    const x = u16();
    const y = u16();
    const w = u16();
    const h = u16();
    const f = u8();
    const colours = f & 0x80 ? table(f) : global;
    if (!colours) throw new Error('GIF: a frame without a colour table');
    const minCodeSize = u8();
    const indices = lzw(subBlocks(), minCodeSize, w * h);
    const saved = control.disposal === 3 ? canvas.slice() : undefined;
    const rows = rowOrder(h, (f & 0x40) !== 0);
    for (let r = 0; r < h; r++) {
      const cy = y + rows[r]!;
      if (cy >= height) continue;
      for (let c = 0; c < w; c++) {
        const cx = x + c;
        const index = indices[r * w + c]!;
        if (cx >= width || index === control.transparent) continue;
        const d = (cy * width + cx) * 4;
        canvas[d] = colours[index * 3] ?? 0;
        canvas[d + 1] = colours[index * 3 + 1] ?? 0;
        canvas[d + 2] = colours[index * 3 + 2] ?? 0;
        canvas[d + 3] = 255;
      }
    }
    frames.push(canvas.slice());
    delays.push(control.delay);
    if (control.disposal === 2) for (let cy = y; cy < Math.min(y + h, height); cy++) canvas.fill(0, (cy * width + x) * 4, (cy * width + Math.min(x + w, width)) * 4);
    else if (saved) canvas.set(saved);
    control = { disposal: 0, transparent: -1, delay: 0 };
  }
  return { width, height, frames, delays };
}
