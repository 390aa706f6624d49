// Independent DCAP verifier peer: @phala/dcap-qvl-web (Rust compiled to WebAssembly).
//
// Batch mode (default): reads JSON lines from stdin, one case per line:
//   {"id": any, "quote": "<hex>", "collateral": "<path to dcap-qvl QuoteCollateralV3 JSON>", "now": <unix seconds>}
// and writes one JSON line per case to stdout:
//   {"id": any, "ok": bool, "status": string|null, "advisoryIds": [..], "error": string|null}
//
// Bench mode: node verify.mjs bench <quote file (binary)> <collateral JSON> <now> <iterations>
//   prints {"msPerVerify": mean, "msMedian": median, "iterations": n, "status": ...} measured inside node,
//   after a warm-up, so process start-up and WebAssembly compilation are excluded.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { initSync, js_verify } from '@phala/dcap-qvl-web';

const require = createRequire(import.meta.url);
initSync({ module: readFileSync(require.resolve('@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm')) });

const collaterals = new Map();
function collateral(path) {
  if (!collaterals.has(path)) {
    collaterals.set(path, JSON.parse(readFileSync(path, 'utf8')));
  }
  return collaterals.get(path);
}

function verifyOne(quote, coll, now) {
  try {
    const r = js_verify(quote, coll, BigInt(now));
    return { ok: true, status: r.status, advisoryIds: [...(r.advisory_ids ?? [])].sort(), error: null };
  } catch (e) {
    return { ok: false, status: null, advisoryIds: [], error: String(e) };
  }
}

function hexToBytes(hex) {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

if (process.argv[2] === 'bench') {
  const [, , , quotePath, collPath, now, iterArg] = process.argv;
  const quote = new Uint8Array(readFileSync(quotePath));
  const coll = collateral(collPath);
  const iterations = Number(iterArg ?? 200);
  let last = verifyOne(quote, coll, now);
  for (let i = 0; i < Math.min(50, iterations); i++) verifyOne(quote, coll, now); // warm-up
  const times = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    last = verifyOne(quote, coll, now);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const mean = times.reduce((a, b) => a + b, 0) / iterations;
  const median = [...times].sort((a, b) => a - b)[Math.floor(iterations / 2)];
  console.log(JSON.stringify({ msPerVerify: mean, msMedian: median, iterations, status: last.status, error: last.error }));
} else {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    const r = verifyOne(hexToBytes(c.quote), collateral(c.collateral), c.now);
    process.stdout.write(JSON.stringify({ id: c.id, ...r }) + '\n');
  }
}
