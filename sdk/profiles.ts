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
}

export interface Profile {
  tcp: TcpKnobs;
  ports: [number, number]; // ephemeral range
}

const s = 1e6;
const UNLIMITED = 0xffffffff;

export const PROFILES: Record<string, Profile> = {
  linux: {
    ports: [32768, 60999],
    tcp: {
      timeWait: 60 * s, rtoInit: 1 * s, rtoMin: 0.2 * s, rtoMax: 120 * s, synRetries: 6, synackRetries: 5,
      retries2: 15, orphanRetries: 8, finTimeout: 60 * s, twReuse: 2, maxTwBuckets: 262144, mss: 1460,
      maxSynBacklog: 2048, syncookies: 1, somaxconn: 4096, abortOnOverflow: 0,
    },
  },
  rfc9293: {
    ports: [49152, 65535],
    tcp: {
      timeWait: 240 * s, rtoInit: 1 * s, rtoMin: 1 * s, rtoMax: 120 * s, synRetries: 6, synackRetries: 5,
      retries2: 15, orphanRetries: 8, finTimeout: 0, twReuse: 0, maxTwBuckets: UNLIMITED, mss: 1460,
      // RFC 9293 has no SYN cookies; a listener's backlog is its own.
      maxSynBacklog: UNLIMITED, syncookies: 0, somaxconn: UNLIMITED, abortOnOverflow: 0,
    },
  },
  windows: {
    ports: [49152, 65535],
    tcp: {
      timeWait: 120 * s, rtoInit: 3 * s, rtoMin: 0.3 * s, rtoMax: 60 * s, synRetries: 2, synackRetries: 2,
      retries2: 5, orphanRetries: 5, finTimeout: 120 * s, twReuse: 0, maxTwBuckets: UNLIMITED, mss: 1460,
      // Windows' SYN attack protection answers a full queue without keeping state, as cookies do; SOMAXCONN is large.
      maxSynBacklog: UNLIMITED, syncookies: 1, somaxconn: UNLIMITED, abortOnOverflow: 0,
    },
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES);
