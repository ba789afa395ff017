// The "why" variants: each leaves one mechanism out of a host's TCP, so a study can run
// the same workload with it and without it (docs/why.md). One home for their names and
// engine bits; imports only the engine's numbers.

import { Variant } from "../assembly/abi.js";

export const VARIANTS = {
  /** The server counts a connection as established when the SYN arrives; its SYN-ACK goes once, unacknowledged. */
  twoWayHandshake: Variant.TwoWayHandshake,
  /** TIME_WAIT lasts 0: the active closer forgets the connection once it sends the last ACK. */
  noTimeWait: Variant.NoTimeWait,
  /** Neither a SYN nor a SYN-ACK is retransmitted: connect() fails at the first timeout. */
  noSynRetransmit: Variant.NoSynRetransmit,
  /** The active closer forgets the connection once its FIN is ACKed, without waiting for the peer's FIN. */
  threeWayClose: Variant.ThreeWayClose,
  /** Every incarnation of a 4-tuple starts from the same ISN (no ISN clock), as the 2 x MSL argument assumes. */
  sameIsn: Variant.SameIsn,
} as const;

export type VariantName = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as VariantName[];

/** The engine's bits for a list of names. */
export function variantBits(names: readonly VariantName[]): number {
  return names.reduce((b, n) => b | VARIANTS[n], 0);
}
