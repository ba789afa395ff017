// Fidelity profiles: the defaults of a real stack (or of the RFC) for every knob a
// host has. Any of them can be overridden per host in the scenario's `tcp` object.
// Times in microseconds.

export interface TcpKnobs {
  timeWait: number;      // TIME_WAIT duration (Linux: TCP_TIMEWAIT_LEN; RFC: 2 x MSL)
  rtoInit: number;       // initial retransmission timeout
  rtoMin: number;
  rtoMax: number;
  synRetries: number;    // net.ipv4.tcp_syn_retries
  synackRetries: number; // net.ipv4.tcp_synack_retries
  retries2: number;      // net.ipv4.tcp_retries2: data retransmissions before ETIMEDOUT
  orphanRetries: number; // net.ipv4.tcp_orphan_retries: FIN retransmissions after close()
  finTimeout: number;    // net.ipv4.tcp_fin_timeout (0: FIN_WAIT_2 waits forever, as RFC 9293)
  twReuse: number;       // net.ipv4.tcp_tw_reuse: 0 off, 1 on, 2 loopback only
  maxTwBuckets: number;  // net.ipv4.tcp_max_tw_buckets
  mss: number;
  maxSynBacklog: number;   // net.ipv4.tcp_max_syn_backlog (without cookies, its last quarter is kept for proven peers)
  syncookies: number;      // net.ipv4.tcp_syncookies: 0 off, 1 when the SYN queue is full, 2 always
  somaxconn: number;       // net.core.somaxconn: caps listen()'s backlog (both queues)
  abortOnOverflow: number; // net.ipv4.tcp_abort_on_overflow: 1 resets a handshake the full accept queue cannot take
  hz: number;            // CONFIG_HZ: timers fire on the kernel's timer wheel (0: exact timers)
  synLinearTimeouts: number; // net.ipv4.tcp_syn_linear_timeouts (Linux >= 6.5)
  twReuseDelay: number;  // net.ipv4.tcp_tw_reuse_delay (Linux >= 6.13; fixed 1 s before)
  timestamps: number;    // net.ipv4.tcp_timestamps: 1 on (TSval, PAWS; tw_reuse needs it), 0 off; a connection uses them when both ends have them on
  delayedAck: number;    // 1: delayed ACKs as Linux sends them (quick-ack, pingpong, ATO 40-200 ms); 0: every ACK at once
}

export interface Profile {
  tcp: TcpKnobs;
  ports: [number, number]; // ephemeral range
  portAllocator: string;   // the port allocator plugin connect() uses unless a host names one
}

const s = 1e6;
const UNLIMITED = 0xffffffff;

// `linux` is Linux 6.18 (the kernel of the reference measurements, test/fixtures/linux-reference),
// with a fresh network namespace's sysctls; `linux-5.15` is the older LTS kernel where
// defaults differ (no linear SYN timeouts; tw_reuse_delay not a sysctl, 1 s).
const linux618: TcpKnobs = {
  timeWait: 60 * s, rtoInit: 1 * s, rtoMin: 0.2 * s, rtoMax: 120 * s, synRetries: 6, synackRetries: 5,
  retries2: 15, orphanRetries: 8, finTimeout: 60 * s, twReuse: 2, maxTwBuckets: 131072, mss: 1460, // a fresh netns: 131072 tw buckets
  hz: 250, synLinearTimeouts: 4, twReuseDelay: 1 * s, timestamps: 1, delayedAck: 1,
  maxSynBacklog: 2048, syncookies: 1, somaxconn: 4096, abortOnOverflow: 0,
};

export const PROFILES: Record<string, Profile> = {
  linux: { ports: [32768, 60999], portAllocator: "linux", tcp: linux618 },
  "linux-5.15": { ports: [32768, 60999], portAllocator: "linux", tcp: { ...linux618, synLinearTimeouts: 0 } },
  rfc9293: {
    ports: [49152, 65535],
    tcp: {
      timeWait: 240 * s, rtoInit: 1 * s, rtoMin: 1 * s, rtoMax: 120 * s, synRetries: 6, synackRetries: 5,
      retries2: 15, orphanRetries: 8, finTimeout: 0, twReuse: 0, maxTwBuckets: UNLIMITED, mss: 1460,
      // RFC 9293 has no SYN cookies; a listener's backlog is its own.
      maxSynBacklog: UNLIMITED, syncookies: 0, somaxconn: UNLIMITED, abortOnOverflow: 0,
      // Timestamps are RFC 7323's, an option RFC 9293 does not require: the textbook host goes without.
      hz: 0, synLinearTimeouts: 0, twReuseDelay: 1 * s, timestamps: 0,
      // RFC 9293 3.8.6.3 says an ACK SHOULD be delayed (at most 0.5 s, at least every second
      // full segment) but leaves how to the implementation: the textbook profile ACKs each
      // segment at once, as the RFC's own figures show.
      delayedAck: 0,
    },
    portAllocator: "sequential",
  },
  windows: {
    ports: [49152, 65535],
    tcp: {
      timeWait: 120 * s, rtoInit: 3 * s, rtoMin: 0.3 * s, rtoMax: 60 * s, synRetries: 2, synackRetries: 2,
      retries2: 5, orphanRetries: 5, finTimeout: 120 * s, twReuse: 0, maxTwBuckets: UNLIMITED, mss: 1460,
      // Windows' SYN attack protection answers a full queue without keeping state, as cookies do; SOMAXCONN is large.
      maxSynBacklog: UNLIMITED, syncookies: 1, somaxconn: UNLIMITED, abortOnOverflow: 0,
      // Windows leaves RFC 1323 timestamps off unless asked (netsh "RFC 1323 Timestamps: disabled").
      hz: 0, synLinearTimeouts: 0, twReuseDelay: 1 * s, timestamps: 0,
      // Windows delays ACKs too, but its own way (a 200 ms timer, TcpAckFrequency 2, no
      // quick-ack start); Linux's mechanism would be wrong for it, so ACKs go at once.
      delayedAck: 0,
    },
    portAllocator: "windows",
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES);

/**
 * A Linux timer of `delay` us on the kernel's timer wheel at CONFIG_HZ `hz` (kernel/time/
 * timer.c calc_wheel_index, as assembly/wheel.ts kernelDue): it is filed at the level whose
 * range holds it (level L: 8^L jiffies each, for deltas from 63 << 3(L-1) jiffies) and fires
 * on the first boundary of that granularity after its expiry. Seconds:
 *   granule  the level's granularity (2.048 s for 60 s at 250 Hz);
 *   min/max  the shortest and longest it lasts (60.004 s and 62.048 s);
 *   mean     for a timer armed at a random time: delay + granule / 2 (61.024 s);
 *   cycle    for one re-armed each time it fires (a port taken again as soon as its
 *            TIME_WAIT ends, as under port exhaustion): a whole number of granules (61.44 s).
 * hz 0: an exact timer, all of them `delay`.
 */
export function wheelTimer(delay: number, hz: number): { granule: number; min: number; mean: number; max: number; cycle: number } {
  const d = delay / 1e6;
  if (hz === 0) return { granule: 0, min: d, mean: d, max: d, cycle: d };
  const dj = Math.ceil((delay * hz) / 1e6);
  let g = 1;
  while (g < 8 ** 8 && dj >= 63 * g) g *= 8;
  const tick = 1 / hz;
  return { granule: g * tick, min: dj * tick, mean: (dj + g / 2) * tick, max: (dj + g) * tick, cycle: Math.ceil((dj + 1) / g) * g * tick };
}
