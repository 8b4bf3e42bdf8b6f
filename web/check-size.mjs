// Prints the first-load weight of the built web app (the JS and CSS index.html pulls in, gzipped) and fails above 150 KB.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const LIMIT = 150 * 1024;
const dist = new URL('./dist/', import.meta.url);
const html = readFileSync(new URL('index.html', dist), 'utf8');
const assets = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let total = 0;
for (const asset of assets) {
  const gz = gzipSync(readFileSync(new URL(asset, dist)), { level: 9 }).length;
  total += gz;
  console.log(`  ${asset}  ${(gz / 1024).toFixed(1)} KB gzipped`);
}
console.log(`web: first load ${(total / 1024).toFixed(1)} KB JS+CSS gzipped (limit ${LIMIT / 1024} KB)`);
if (assets.length === 0 || total > LIMIT) {
  console.error(assets.length === 0 ? 'web: no assets found in dist/index.html' : 'web: first load is over the budget');
  process.exit(1);
}
