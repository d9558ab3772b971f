// Writes .br and .gz copies of the built client next to each file (the server sends them to browsers that
// accept them) and prints the sizes of the WebAssembly and its JavaScript glue.
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join, extname } from "node:path";

const dist = process.argv[2] ?? "dist";
const compressible = new Set([".wasm", ".js", ".css", ".html", ".svg"]);
const rows = [];
for (const name of readdirSync(dist)) {
  const path = join(dist, name);
  if (!statSync(path).isFile() || !compressible.has(extname(name))) continue;
  const raw = readFileSync(path);
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  });
  const gz = gzipSync(raw, { level: 9 });
  writeFileSync(`${path}.br`, br);
  writeFileSync(`${path}.gz`, gz);
  rows.push({ name, raw: raw.length, gzip: gz.length, brotli: br.length });
}
const code = rows.filter((r) => r.name.endsWith(".wasm") || r.name.endsWith(".js"));
const sum = (k) => code.reduce((n, r) => n + r[k], 0);
for (const r of rows) console.log(`client size: ${r.name.padEnd(40)} raw ${r.raw}  gzip ${r.gzip}  brotli ${r.brotli}`);
console.log(`client size: wasm+js total                       raw ${sum("raw")}  gzip ${sum("gzip")}  brotli ${sum("brotli")}`);
