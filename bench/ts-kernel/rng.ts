// assembly/rng.ts without u64 on the hot path. A 64-bit value is two u32 halves
// (hi, lo) held in JS numbers; products modulo 2^64 are built from 32x32 partial
// products (`mulhi` gives the high word of a 32x32 product, exactly, from two
// 32x16 products that stay under 2^53). BigInt is used only by the seeding
// (splitmix64 / seedStream), which runs while the scenario is configured.

const M64 = (1n << 64n) - 1n;

export function splitmix64(x: bigint): bigint {
  let z = (x + 0x9E3779B97F4A7C15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & M64;
  return z ^ (z >> 31n);
}

export function seedStream(seed: bigint, stream: bigint): bigint {
  const s = splitmix64((seed ^ splitmix64((stream + 0x5851F42D4C957F2Dn) & M64)) & M64);
  return s === 0n ? 0x2545F4914F6CDD1Dn : s;
}

/** Stores a u64 as (hi, lo) at words [2i, 2i+1] of `a`. */
export function storeU64(a: Uint32Array, i: number, v: bigint): void {
  a[2 * i] = Number(v >> 32n);
  a[2 * i + 1] = Number(v & 0xFFFFFFFFn);
}

/** High 32 bits of the 64-bit product of two u32 (given as non-negative numbers). */
export function mulhi(a: number, b: number): number {
  // a*b = a*b1*2^16 + a*b0; both partial products are under 2^48, the sum below under 2^49: exact.
  const t = a * (b >>> 16) + Math.floor((a * (b & 0xFFFF)) / 65536);
  return Math.floor(t / 65536) >>> 0;
}

const K_HI = 0x2545F491, K_LO = 0x4F6CDD1D;       // xorshift64* multiplier
const M1_HI = 0x9E3779B9, M1_LO = 0x7F4A7C15;     // mix4
const M2_HI = 0xC2B2AE3D, M2_LO = 0x27D4EB4F;
const M3_HI = 0xFF51AFD7, M3_LO = 0xED558CCD;

/**
 * xorshift64* on the state at words [2i, 2i+1] of `st`; returns the top 53 bits of
 * the output as a uniform number in [0, 1) (nextUnit: (x * K >> 11) * 2^-53).
 */
export function nextUnit(st: Uint32Array, i: number): number {
  let hi = st[2 * i], lo = st[2 * i + 1];
  // x ^= x >> 12
  lo = (lo ^ ((lo >>> 12) | (hi << 20))) >>> 0; hi = (hi ^ (hi >>> 12)) >>> 0;
  // x ^= x << 25
  hi = (hi ^ ((hi << 25) | (lo >>> 7))) >>> 0; lo = (lo ^ (lo << 25)) >>> 0;
  // x ^= x >> 27
  lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0; hi = (hi ^ (hi >>> 27)) >>> 0;
  st[2 * i] = hi; st[2 * i + 1] = lo;
  // x * K mod 2^64
  const pLo = Math.imul(lo, K_LO) >>> 0;
  const pHi = (mulhi(lo, K_LO) + Math.imul(lo, K_HI) + Math.imul(hi, K_LO)) >>> 0;
  return (pHi * 2097152 + (pLo >>> 11)) * 1.1102230246251565e-16;
}

/** mix4 of assembly/rng.ts: a 32-bit mix of four u32 words. */
export function mix4(a: number, b: number, c: number, d: number): number {
  a >>>= 0; b >>>= 0; c >>>= 0;
  // a * M1 (a < 2^32)
  const pLo = Math.imul(a, M1_LO);
  const pHi = mulhi(a, M1_LO) + Math.imul(a, M1_HI);
  // (b << 32 | c) * M2
  const qLo = Math.imul(c, M2_LO);
  const qHi = mulhi(c, M2_LO) + Math.imul(c, M2_HI) + Math.imul(b, M2_LO);
  const hHi = (pHi ^ qHi) >>> 0;
  let hLo = (pLo ^ qLo ^ d) >>> 0;
  // h ^= h >> 33
  hLo = (hLo ^ (hHi >>> 1)) >>> 0;
  // h *= M3
  const nLo = Math.imul(hLo, M3_LO);
  const nHi = (mulhi(hLo, M3_LO) + Math.imul(hLo, M3_HI) + Math.imul(hHi, M3_LO)) >>> 0;
  // h ^= h >> 33; low word
  return (nLo ^ (nHi >>> 1)) >>> 0;
}
