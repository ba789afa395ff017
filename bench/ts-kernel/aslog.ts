// Math.log exactly as the engine computes it. AssemblyScript's Math.log is not the
// host's: at shrinkLevel 0 it is `log_lut` (std/assembly/util/math.ts, a port of
// musl's table-driven log.c), and V8's Math.log (fdlibm) differs from it by one ulp
// on about 7% of inputs in (0, 1]. Poisson arrivals take -log(1 - u), so a faithful
// port needs the same function: this is log_lut line by line, with the u64 bit
// manipulations done on two u32 halves of a shared Float64Array.

import { LOG_TAB1_HEX, LOG_TAB2_HEX } from "./logtab.js";

const F = new Float64Array(1);
const W = new Uint32Array(F.buffer); // little-endian: W[0] low word, W[1] high word

function fromHex(hex: readonly string[]): Float64Array {
  const out = new Float64Array(hex.length);
  const w = new Uint32Array(out.buffer);
  hex.forEach((h, i) => { w[2 * i + 1] = parseInt(h.slice(0, 8), 16); w[2 * i] = parseInt(h.slice(8), 16); });
  return out;
}
const TAB1 = fromHex(LOG_TAB1_HEX); // invc, logc
const TAB2 = fromHex(LOG_TAB2_HEX); // chi, clo

function bits(hi: number, lo: number): number { W[1] = hi; W[0] = lo; return F[0]; }

const B0 = bits(0xBFE00000, 0x00000000), B1 = bits(0x3FD55555, 0x55555577), B2 = bits(0xBFCFFFFF, 0xFFFFFDCB);
const B3 = bits(0x3FC99999, 0x9995DD0C), B4 = bits(0xBFC55555, 0x556745A7), B5 = bits(0x3FC24924, 0xA344DE30);
const B6 = bits(0xBFBFFFFF, 0xA4423D65), B7 = bits(0x3FBC7184, 0x282AD6CA), B8 = bits(0xBFB999EB, 0x43B068FF);
const B9 = bits(0x3FB78182, 0xF7AFD085), B10 = bits(0xBFB55213, 0x75D145CD);
const A0 = bits(0xBFE00000, 0x00000001), A1 = bits(0x3FD55555, 0x5551305B), A2 = bits(0xBFCFFFFF, 0xFFEB4590);
const A3 = bits(0x3FC999B3, 0x24F10111), A4 = bits(0xBFC55575, 0xE506C89F);
const LO_D = bits(0x3FEE0000, 0), HI_D = bits(0x3FF10900, 0);
const Ln2hi = bits(0x3FE62E42, 0xFEFA3800), Ln2lo = bits(0x3D2EF357, 0x93C76730);
const Ox1p27 = bits(0x41A00000, 0), Ox1p52 = bits(0x43300000, 0);

export function asLog(x: number): number {
  // `ix - LO < HI - LO` as u64: for every non-NaN double this is LO <= x < HI.
  if (x >= LO_D && x < HI_D) {
    const r = x - 1.0;
    const r2 = r * r;
    const r3 = r2 * r;
    const y =
      r3 * (B1 + r * B2 + r2 * B3 +
      r3 * (B4 + r * B5 + r2 * B6 +
      r3 * (B7 + r * B8 + r2 * B9 + r3 * B10)));
    let w = r * Ox1p27;
    const rhi = r + w - w;
    const rlo = r - rhi;
    w = rhi * rhi * B0;
    const hi = r + w;
    let lo = r - hi + w;
    lo += B0 * rlo * (rhi + r);
    return y + lo + hi;
  }
  F[0] = x;
  let hi = W[1];
  let lo = W[0];
  const top = hi >>> 16;
  if (((top - 0x0010) >>> 0) >= 0x7FF0 - 0x0010) {
    if (((hi << 1) | lo) === 0) return -1.0 / (x * x);
    if (x === Infinity) return x;
    if ((top & 0x8000) || (top & 0x7FF0) === 0x7FF0) return (x - x) / (x - x);
    F[0] = x * Ox1p52; // subnormal: normalise
    hi = (W[1] - (52 << 20)) >>> 0;
    lo = W[0];
  }
  const tmpHi = (hi - 0x3FE60000) >>> 0;      // tmp = ix - 0x3FE6000000000000 (low word unchanged)
  const i = (tmpHi >>> 13) & 127;             // (tmp >> 45) & N_MASK
  const k = (tmpHi | 0) >> 20;                // <i64>tmp >> 52
  const izHi = (hi - (tmpHi & 0xFFF00000)) >>> 0;
  W[1] = izHi; W[0] = lo;
  const z = F[0];
  const invc = TAB1[2 * i], logc = TAB1[2 * i + 1];
  const chi = TAB2[2 * i], clo = TAB2[2 * i + 1];
  const r = (z - chi - clo) * invc;
  const kd = k;
  const w = kd * Ln2hi + logc;
  const h = w + r;
  const l = w - h + r + kd * Ln2lo;
  const r2 = r * r;
  return l + r2 * A0 + r * r2 * (A1 + r * A2 + r2 * (A3 + r * A4)) + h;
}
