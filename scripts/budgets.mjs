// The client's size budgets (issue 13): prints each figure and exits non-zero when one is over.
// Sizes are brotli at quality 11 (what the server sends browsers that accept it), read from the .br files
// scripts/compress.mjs wrote beside each built file.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const dist = process.argv[2] ?? "dist";
const brotli = (dir, test) =>
  readdirSync(dir)
    .filter((name) => name.endsWith(".br") && test(name.slice(0, -3)))
    .reduce((n, name) => n + statSync(join(dir, name)).size, 0);
const code = (name) => name.endsWith(".wasm") || name.endsWith(".js");
const css = (name) => name.endsWith(".css");

const budgets = [
  ["credentials bundle (wasm + js)", brotli(dist, code), 130_000],
  ["admin bundle (wasm + js)", brotli(join(dist, "admin"), code), 200_000],
  ["CSS, credentials pages", brotli(dist, css), 12_000],
  ["CSS, admin pages", brotli(join(dist, "admin"), css), 12_000],
];
let over = 0;
for (const [name, size, limit] of budgets) {
  const verdict = size === 0 ? "MISSING" : size > limit ? "OVER" : "ok";
  if (verdict !== "ok") over += 1;
  console.log(`size budget: ${name.padEnd(32)} ${String(size).padStart(7)} B brotli of ${limit} B  ${verdict}`);
}
if (over > 0) {
  console.error(`size budget: ${over} figure(s) over budget or missing: the client must shrink (docs/toolchain.md).`);
  process.exit(1);
}
