/**
 * The shared libraries an ELF file names (DT_NEEDED): what the dynamic loader must find before it
 * can load, e.g., ONNX Runtime's CUDA provider (`libcudart.so.13`, `libcublas.so.13`, …). Reads the
 * header, the program headers and the dynamic section only, so a 300 MB provider costs a few reads.
 */
import fs from 'node:fs';

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

/** DT_NEEDED of a 64-bit little-endian ELF file (x86-64, arm64 Linux); throws for anything else. */
export function neededLibraries(file: string): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    const read = (offset: number, length: number, whole = true) => {
      const buf = Buffer.alloc(length);
      const n = fs.readSync(fd, buf, 0, length, offset);
      if (whole && n < length) throw new Error(`${file}: truncated ELF file`);
      return buf.subarray(0, n);
    };
    const head = read(0, 64);
    if (head.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file}: not an ELF file`);
    if (head[4] !== 2 || head[5] !== 1) throw new Error(`${file}: not a 64-bit little-endian ELF file`);
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const headers = read(phoff, phentsize * phnum);
    const segments = Array.from({ length: phnum }, (_, i) => {
      const at = i * phentsize;
      return {
        type: headers.readUInt32LE(at),
        offset: Number(headers.readBigUInt64LE(at + 8)),
        vaddr: Number(headers.readBigUInt64LE(at + 16)),
        filesz: Number(headers.readBigUInt64LE(at + 32)),
      };
    });
    const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
    if (!dynamic) return []; // statically linked
    const entries = read(dynamic.offset, dynamic.filesz);
    const needed: bigint[] = [];
    let strtab: number | undefined;
    for (let at = 0; at + 16 <= entries.length; at += 16) {
      const tag = entries.readBigInt64LE(at);
      const value = entries.readBigUInt64LE(at + 8);
      if (tag === 0n) break;
      if (tag === DT_NEEDED) needed.push(value);
      if (tag === DT_STRTAB) strtab = Number(value);
    }
    if (strtab === undefined) return [];
    // DT_STRTAB is an address: the loaded segment that holds it gives its place in the file.
    const load = segments.find((s) => s.type === PT_LOAD && s.vaddr <= strtab! && strtab! < s.vaddr + s.filesz);
    if (!load) throw new Error(`${file}: string table outside the loaded segments`);
    const base = strtab - load.vaddr + load.offset;
    return needed.map((n) => {
      const bytes = read(base + Number(n), 256, false);
      const end = bytes.indexOf(0);
      return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
    });
  } finally {
    fs.closeSync(fd);
  }
}
