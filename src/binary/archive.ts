// The runtime archive the single binary carries as one SEA asset: the files that must exist on disk
// (pool thread entry, agent modules, the SQLite addon, dashboard files), packed by the build script.
//
// Layout: u32 LE header length, the header (JSON list of { path, size }), then each file's bytes in order.

/** One file of the archive; `path` is relative to the extraction directory, with `/` separators. */
export interface ArchiveEntry {
  path: string;
  data: Uint8Array;
}

interface HeaderEntry {
  path: string;
  size: number;
}

export function packArchive(entries: readonly ArchiveEntry[]): Buffer {
  const header = Buffer.from(JSON.stringify(entries.map((e): HeaderEntry => ({ path: e.path, size: e.data.byteLength }))), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.byteLength);
  return Buffer.concat([length, header, ...entries.map((e) => e.data)]);
}

/** The entries of a packed archive; each `data` is a view into `bytes`, not a copy. */
export function unpackArchive(bytes: Uint8Array): ArchiveEntry[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.readUInt32LE(0);
  const header = JSON.parse(view.subarray(4, 4 + headerLength).toString('utf8')) as HeaderEntry[];
  let offset = 4 + headerLength;
  const entries = header.map(({ path, size }) => {
    if (path.startsWith('/') || path.split('/').includes('..')) throw new Error(`runtime archive: unsafe path ${path}`);
    const data = view.subarray(offset, offset + size);
    offset += size;
    return { path, data };
  });
  if (offset !== view.byteLength) throw new Error(`runtime archive: ${view.byteLength - offset} bytes unaccounted for`);
  return entries;
}
