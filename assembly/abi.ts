// The numbers shared by the engine and the SDK. Plain enums only: this file is
// valid AssemblyScript and valid TypeScript, so both sides import it and there is
// one home for every index that crosses the boundary.

/** TCP states, RFC 9293 order; names are printed by the SDK as netstat does. */
export enum State {
  CLOSED = 0, LISTEN = 1, SYN_SENT = 2, SYN_RCVD = 3, ESTABLISHED = 4,
  FIN_WAIT_1 = 5, FIN_WAIT_2 = 6, CLOSE_WAIT = 7, CLOSING = 8, LAST_ACK = 9, TIME_WAIT = 10,
}
export const STATE_COUNT = 11;

/** TCP header flag bits as on the wire. */
export enum Flag { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16, UDP = 128 }
// A UDP datagram is a segment with Flag.UDP: a query; with ACK too, its reply; with
// RST, the ICMP port unreachable that answers a query nobody listens for.

/** Per-host knobs (setHostParam). Times in microseconds. */
export enum HostParam {
  TimeWait = 0, RtoInit, RtoMin, RtoMax, SynRetries, SynackRetries, Retries2, OrphanRetries,
  FinTimeout, TwReuse, MaxTwBuckets, PortLo, PortHi, Mss, PortAllocator,
  /** tcp_max_syn_backlog, tcp_syncookies (0 off, 1 when the SYN queue is full, 2 always), net.core.somaxconn, tcp_abort_on_overflow. */
  MaxSynBacklog, Syncookies, Somaxconn, AbortOnOverflow,
  /** CONFIG_HZ: the kernel timer wheel's tick rate (0: exact timers, no wheel). */
  Hz,
  /** net.ipv4.tcp_syn_linear_timeouts: SYN retransmissions at rto_init before backing off. */
  SynLinearTimeouts,
  /** net.ipv4.tcp_tw_reuse_delay, us. */
  TwReuseDelay,
  /** net.ipv4.tcp_timestamps: 0 off, 1 on with a random offset per address pair, 2 on without offsets. */
  Timestamps,
  /** 1: delayed ACKs as Linux sends them (quick-ack, pingpong, ATO 40-200 ms; delack.ts); 0: every ACK at once. */
  DelayedAck,
  /** Variant bits: the mechanisms this host leaves out (the "why" studies; 0: a standard stack). */
  Variant,
  COUNT,
}
/**
 * HostParam.Variant's bits: each removes one mechanism from the host's TCP, the peer
 * staying standard. noSynRetransmit and noTimeWait are knobs the SDK sets (synRetries,
 * synackRetries and synLinearTimeouts 0; maxTwBuckets 0, not counted as an overflow).
 */
export enum Variant {
  /** A SYN makes an ESTABLISHED child at once: its SYN-ACK is sent once, never retransmitted or waited for. */
  TwoWayHandshake = 1,
  /** TIME_WAIT lasts 0: the active closer forgets the connection once it sends the last ACK. */
  NoTimeWait = 2,
  NoSynRetransmit = 4,
  /** The active closer forgets the connection once its FIN is ACKed, without waiting for the peer's FIN. */
  ThreeWayClose = 8,
  /** Every incarnation of a 4-tuple starts from the same ISN (no ISN clock): the case the 2 x MSL argument guards against. */
  SameIsn = 16,
}
/** How connect() picks an ephemeral port (HostParam.PortAllocator); SequentialShared: one cursor for TCP and UDP, as Windows. */
export enum PortAllocator { Sequential = 0, Random = 1, Linux = 2, SequentialShared = 3 }

/** Per-workload settings (setWorkloadParam). Times in microseconds. */
export enum WlParam {
  SrcHost = 0, SrcIp, DstAddr, DstPort, Dir, Rate, Arrival, Start, Stop, Count,
  Request, Response, Closer, HalfClose, Linger0, LocalPort,
  Clients, Think, Stream, ReqDist, ReqA, ReqB, RespDist, RespA, RespB, Requests, Backoff, BackoffMax, Udp, UdpTimeout,
  /** 1: arrivals come from a TypeScript hook, a window at a time (addArrivals), not from Rate. */
  Hooked,
  /**
   * The workload (its index) whose counter numbers its connections: the first of its
   * host's. The k-th connection of a host is numbered k x ConnStride + ConnOffset, where
   * ConnStride is the number of client hosts in its group of linked hosts and
   * ConnOffset the host's place among them: numbers are unique in the group, and a host
   * numbers its connections alone, so a run split over workers numbers them as the
   * whole run does.
   */
  ConnGroup,
  /**
   * Several sources and destinations, taken in turn per connection (the k-th connection:
   * destination k mod Dests, source (k div Dests) mod Sources, so every pair comes up):
   * Sources consecutive addresses from SrcIp (0 or 1: SrcIp alone); Dests entries of the
   * destination table from DstFirst (addDestination; 0: DstAddr, DstPort and Dir alone).
   */
  Sources, DstFirst, Dests,
  /** 1: bind(addr, 0) picks the port before connect(), so it is never shared across destinations; 0: connect() picks it knowing the destination (IP_BIND_ADDRESS_NO_PORT). */
  BindPort,
  /** us: the server application close()s this long after it reads the client's EOF (0: at once). */
  ServerCloseDelay,
  /** us a client keeps its connection open after the response before it closes (0: at once). */
  Hold,
  /** See ConnGroup (0 counts as 1). */
  ConnStride, ConnOffset,
  COUNT,
}
/** Request and response sizes: fixed (Request/Response), or drawn per connection. */
export enum SizeDist { Fixed = 0, Uniform = 1, Exponential = 2, Lognormal = 3 }
export enum Arrival { Constant = 0, Poisson = 1 }
export enum Closer { Client = 0, Server = 1, Both = 2 }

export enum LossKind { None = 0, Bernoulli = 1, GilbertElliott = 2, Hook = 3 }

/** run() returns: 0 finished, 1 the event budget ran out, 2 a batch of hook decisions is due. */
/** HookBatch: loss verdicts are due (hooks.ts); WorkloadBatch: hooked workloads' arrivals for the next window are. */
/** Window: every event before the window's end (setWindowEnd) has fired (a run split over workers). */
export enum RunStatus { Done = 0, More = 1, HookBatch = 2, WorkloadBatch = 3, Window = 4 }

/** A decision deferred to a TypeScript hook: 32-byte records at hookPtr(). */
export enum HookField {
  Time = 0,     // u64 microseconds, when the segment was sent
  Segment = 8,  // u32 the segment in flight
  Dir = 12,     // u16 link direction
  Flags = 14,   // u8
  State = 15,   // u8 the sender's state
  Seq = 16, Ack = 20, Len = 24, Conn = 28,
  SIZE = 32,
}
export enum RuleAction { Drop = 0, Duplicate = 1 }

/** Counters read with stat(k). */
export enum Stat {
  Events = 0, SegmentEvents, Attempted, Established, Completed,
  EADDRNOTAVAIL, ECONNREFUSED, ETIMEDOUT, ECONNRESET, EADDRINUSE,
  SegSent, SegDropped, SegRetransmitted, SegDuplicated,
  LiveSockets, SocketCapacity, MemoryBytes, ConnectFailed,
  /** connect()s that took over a TIME_WAIT tuple (tw_reuse): how soon an allocator comes back to a port. */
  TwReused,
  /** netstat's TcpExt counters of listeners: accept queue overflows, every SYN or ACK a listener dropped, SYN cookies. */
  ListenOverflows, ListenDrops, SyncookiesSent, SyncookiesRecv, SyncookiesFailed,
  /** tcp_max_tw_buckets was reached: a socket closed at once instead of entering TIME_WAIT (TcpExt TCPTimeWaitOverflow). */
  TwOverflow,
  /** Segments PAWS dropped (RFC 7323 5): netstat's PAWSEstab + PAWSActive + PAWSTimewait + PAWSOldAck. */
  PawsRejected,
  /**
   * The "why" counters (result totals.why). Server sockets made by an old duplicate (a
   * delayed copy of a SYN nobody is waiting for), the microseconds they were held (those
   * still open at the end to the end), and those of them the server took for established.
   */
  UnwantedConns, UnwantedHeldUs, FalselyEstablished,
  /** Connections whose client, in SYN_SENT, got an ACK of its SYN without a SYN: the peer established, both waiting. */
  Deadlocks,
  /** Data or a FIN of an old incarnation (another connection id on the same tuple) taken in order by a new one. */
  StaleAccepted,
  /** FIN retransmissions in LAST_ACK, and RSTs a passive closer (CLOSE_WAIT or LAST_ACK) accepted. */
  LastAckRetries, PassiveResets,
  /** threeWayClose sockets that forgot the connection before their exchange was done. */
  ClosedEarly,
  /** Sockets open at the end that nothing will ever close: ESTABLISHED, nothing unacknowledged, the peer's end gone. */
  NeverClosed,
  COUNT,
}
/** The failures counted, as the errno an application would see; EADDRINUSE is a server's bind(). */
export enum Errno { EADDRNOTAVAIL = 0, ECONNREFUSED, ETIMEDOUT, ECONNRESET, EADDRINUSE }
/** What each workload's connections came to (outcomesPtr(): u32 [workload][Outcome.COUNT]); a failure is Failed + its errno. */
export enum Outcome { Attempted = 0, Established, Completed, Failed, COUNT = Failed + 4 }
/** Failures per sample interval, in this order after the state and port columns. */
export const ERRNO_COUNT = 5;

/** Trace records: 40 bytes each. */
export enum TraceField {
  Time = 0,     // u64 microseconds
  Conn = 8,     // u32 connection id
  Kind = 12,    // u8: 0 state change, 1 segment, 2 connection opened (Seq laddr, Ack lport<<16|rport, Len raddr),
                //     3 a NAT (Where: its host) translated it (Seq inside address, Ack inside port<<16|public port, Len public address)
  A = 13,       // u8: from-state, or flags
  B = 14,       // u8: to-state, or fate (0 delivered, 1 dropped)
  Opts = 15,    // u8: a segment's options: 1 it carries the timestamps option (TsVal, TsEcr)
  Where = 16,   // u16: host (state change) or link direction (segment)
  Seq = 20, Ack = 24, Len = 28,
  TsVal = 32, TsEcr = 36,
  SIZE = 40,
}

/**
 * conntrack's states (Linux enum tcp_conntrack, its order: the tracker's table is indexed
 * by it), then the UDP entries: no reply seen, a reply seen, assured (a stream: replies
 * and still in use 2 s after the first packet).
 */
export enum CtState {
  NONE = 0, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2,
  UDP_UNREPLIED, UDP_REPLIED, UDP_ASSURED,
}
export const CT_STATE_COUNT = 13;
/** A NAT's timeouts (setNatTimeout), us: the TCP states' by CtState, then UDP's two. */
export enum CtTimeout { UDP = 10, UDP_STREAM = 11, COUNT = 12 }
/** A NAT's counters (natStat and its sample columns), cumulative. */
export enum NatStat {
  /** New flows whose first packet found no free tuple (nf_conntrack insert_failed): the packet is dropped. */
  InsertFailed = 0,
  /** New flows dropped because the table held nf_conntrack_max entries ("table full, dropping packet"). */
  TableFull,
  /** Packets conntrack marks invalid (no entry and not a SYN, or a forbidden transition): dropped. */
  Invalid,
  /** Entries in TIME_WAIT or CLOSE taken over by a new SYN ahead of them (nf_nat_used_tuple_harder). */
  Takeovers,
  /** Entries made (flows that got a tuple). */
  Created,
  /** Packets forwarded. */
  Forwarded,
  /** Seconds entries held their tuple (until TIME_WAIT or CLOSE, or their end), summed, and how many such holds ended. */
  HeldSeconds, Holds,
  /** Seconds entries stayed in the table, summed, and how many entries ended. */
  LifeSeconds, Lives,
  /** RSTs sent back to an inside host for a TCP packet of a flow the NAT no longer knows (a cloud gateway after its idle timeout; setNatReset). */
  Resets,
  COUNT,
}
