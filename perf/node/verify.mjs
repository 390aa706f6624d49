// Independent DCAP verifier peers, both from Phala's dcap-qvl project but separate implementations:
//   dcap-qvl-web: @phala/dcap-qvl-web, the Rust verifier compiled to WebAssembly (does not decode TDX v5);
//   dcap-qvl:     @phala/dcap-qvl, a pure JavaScript verifier (decodes TDX v5 / TDX 1.5 bodies).
//
// Batch mode (default): reads JSON lines from stdin, one case per line:
//   {"id": any, "quote": "<hex>", "collateral": "<path to dcap-qvl QuoteCollateralV3 JSON>", "now": <unix seconds>}
// and writes one JSON line per case to stdout, with every peer's outcome:
//   {"id": any, "peers": {"dcap-qvl-web": OUTCOME, "dcap-qvl": OUTCOME}}
//   OUTCOME = {"ok": bool, "status": string|null, "advisoryIds": [..], "error": string|null, "fields": {..}}
// where fields (lower-case hex, only when ok) are the key values the peer itself decoded: mrenclave,
// mrsigner, mrtd, rtmr0..rtmr3, report_data, and fmspc (dcap-qvl only: read by its own PCK extension parser).
//
// Bench mode: node verify.mjs bench <quote file (binary)> <collateral JSON> <now> <iterations> [web|js]
//   prints {"peer":..,"msPerVerify": mean, "msMedian": median, "iterations": n, "status": ...} measured inside
//   node after a warm-up, so process start-up and WebAssembly compilation are excluded. Default peer: web.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { initSync, js_verify } from '@phala/dcap-qvl-web';

const require = createRequire(import.meta.url);
const dcapJs = require('@phala/dcap-qvl');
initSync({ module: readFileSync(require.resolve('@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm')) });

const collaterals = new Map();
function collateral(path) {
  if (!collaterals.has(path)) {
    collaterals.set(path, JSON.parse(readFileSync(path, 'utf8')));
  }
  return collaterals.get(path);
}

const hex = (b) => Buffer.from(b).toString('hex');

// The web peer's report is {SgxEnclave|TD10|TD15: {...}} with snake_case hex strings.
function webFields(report) {
  const [kind] = Object.keys(report ?? {});
  if (!kind) return {};
  let r = report[kind];
  if (r.base) r = r.base;
  if (kind === 'SgxEnclave') {
    return { mrenclave: r.mr_enclave, mrsigner: r.mr_signer, report_data: r.report_data };
  }
  return {
    mrtd: r.mr_td, rtmr0: r.rt_mr0, rtmr1: r.rt_mr1, rtmr2: r.rt_mr2, rtmr3: r.rt_mr3, report_data: r.report_data,
  };
}

// The JS peer's report is {type: 'sgx'|'td10'|'td15', data} with byte arrays.
function jsFields(report, quote) {
  const out = {};
  if (report.type === 'sgx') {
    Object.assign(out, { mrenclave: hex(report.data.mrEnclave), mrsigner: hex(report.data.mrSigner) });
    out.report_data = hex(report.data.reportData);
  } else {
    const r = report.type === 'td15' ? report.data.base : report.data;
    Object.assign(out, {
      mrtd: hex(r.mrTd), rtmr0: hex(r.rtMr0), rtmr1: hex(r.rtMr1), rtmr2: hex(r.rtMr2), rtmr3: hex(r.rtMr3),
      report_data: hex(r.reportData),
    });
  }
  try {
    const certs = dcapJs.utils.extractCerts(dcapJs.Quote.parse(quote).authData.intoV3().certificationData.body);
    out.fmspc = hex(dcapJs.utils.getFmspc(dcapJs.utils.getIntelExtension(certs[0])));
  } catch (e) {
    out.fmspc = null;
  }
  return out;
}

function verifyWeb(quote, coll, now) {
  try {
    const r = js_verify(quote, coll, BigInt(now));
    return { ok: true, status: r.status, advisoryIds: [...(r.advisory_ids ?? [])].sort(), error: null, fields: webFields(r.report) };
  } catch (e) {
    return { ok: false, status: null, advisoryIds: [], error: String(e), fields: {} };
  }
}

function verifyJs(quote, coll, now) {
  try {
    const r = dcapJs.verify(Buffer.from(quote), coll, Number(now));
    return { ok: true, status: r.status, advisoryIds: [...(r.advisory_ids ?? [])].sort(), error: null, fields: jsFields(r.report, quote) };
  } catch (e) {
    return { ok: false, status: null, advisoryIds: [], error: String(e), fields: {} };
  }
}

function hexToBytes(h) {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

if (process.argv[2] === 'bench') {
  const [, , , quotePath, collPath, now, iterArg, peerArg] = process.argv;
  const peer = peerArg ?? 'web';
  const verifyOne = peer === 'js' ? verifyJs : verifyWeb;
  if (peer !== 'js' && peer !== 'web') throw new Error(`unknown peer ${peer} (web|js)`);
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
  console.log(JSON.stringify({ peer, msPerVerify: mean, msMedian: median, iterations, status: last.status, error: last.error }));
} else {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    const q = hexToBytes(c.quote);
    const coll = collateral(c.collateral);
    const peers = { 'dcap-qvl-web': verifyWeb(q, coll, c.now), 'dcap-qvl': verifyJs(q, coll, c.now) };
    process.stdout.write(JSON.stringify({ id: c.id, peers }) + '\n');
  }
}
