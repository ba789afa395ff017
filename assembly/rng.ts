// Seeded random streams: xorshift64* state per stream, seeded by splitmix64 from the
// run seed and a stream number, so each link direction and each workload draws from
// its own stream and never perturbs another's sequence.

export function splitmix64(x: u64): u64 {
  let z = x + 0x9E3779B97F4A7C15;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
  return z ^ (z >> 31);
}

export function seedStream(seed: u64, stream: u64): u64 {
  const s = splitmix64(seed ^ splitmix64(stream + 0x5851F42D4C957F2D));
  return s == 0 ? 0x2545F4914F6CDD1D : s;
}

/** Advances the state stored at `p` and returns 64 random bits. */
@inline export function next64(p: usize): u64 {
  let x = load<u64>(p);
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  store<u64>(p, x);
  return x * 0x2545F4914F6CDD1D;
}

/** Uniform in [0, 1). */
@inline export function nextUnit(p: usize): f64 {
  return <f64>(next64(p) >> 11) * 1.1102230246251565e-16; // 2^-53
}

/** A 32-bit mix of four words, for hashing 4-tuples and secret ISNs. */
@inline export function mix4(a: u32, b: u32, c: u32, d: u32): u32 {
  let h = <u64>a * 0x9E3779B97F4A7C15 ^ (<u64>b << 32 | <u64>c) * 0xC2B2AE3D27D4EB4F ^ <u64>d;
  h ^= h >> 33; h *= 0xFF51AFD7ED558CCD; h ^= h >> 33;
  return <u32>h;
}
