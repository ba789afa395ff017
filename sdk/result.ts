// The result contract (DESIGN.md "Contracts"): names users and scripts rely on.

import type { Errno } from "./engine.js";

export type StateName = "CLOSED" | "LISTEN" | "SYN_SENT" | "SYN_RCVD" | "ESTABLISHED" | "FIN_WAIT_1"
  | "FIN_WAIT_2" | "CLOSE_WAIT" | "CLOSING" | "LAST_ACK" | "TIME_WAIT";

export interface TraceState { t: number; host: string; from: StateName; to: StateName }
export interface TraceSegment {
  t: number; from: string; to: string; flags: string; seq: number; ack: number; len: number;
  fate: "delivered" | "dropped";
  /** The timestamps option (RFC 7323), on the segments of a connection that uses it: TSval and TSecr as on the wire. */
  tsval?: number; tsecr?: number;
  /** The MSS option a SYN or SYN-ACK carries: the sending host's `mss` knob. */
  mss?: number;
}
export interface Trace {
  /** The connection's number in its group of linked hosts (connect() order); a trace is one group's. */
  id: number; client: string; server: string;
  states: TraceState[];
  segments: TraceSegment[];
  /** Each NAT the connection passed: the tuple it carries inside ("ip:port" of the client) and outside (the public one). */
  nat?: { t: number; host: string; inside: string; outside: string }[];
}

export interface ListenCounters {
  /** The accept queue was full: a SYN or a handshake's last ACK dropped (or reset, tcp_abort_on_overflow). */
  ListenOverflows: number;
  /** Every SYN or handshake ACK a listener dropped: overflows, and SYNs dropped for a full SYN queue without cookies. */
  ListenDrops: number;
  SyncookiesSent: number;
  /** Handshake ACKs that carried a good cookie. */
  SyncookiesRecv: number;
  SyncookiesFailed: number;
}

/** The "why" counters (docs/results.md, docs/why.md). Held times are simulated seconds. */
export interface WhyCounters {
  /** Server sockets made by an old duplicate SYN (a delayed copy nobody waits for): resources held for connections nobody wants. */
  unwanted: number;
  /** Seconds they were held, summed (those still open at the end, to the end). */
  unwantedHeldSeconds: number;
  /** Of them, those the server took for established (a two-way handshake's): its application accepted them. */
  falselyEstablished: number;
  /** Connections whose client, still in SYN_SENT, got an ACK of its SYN without a SYN: the server established, both waiting on each other. */
  deadlocks: number;
  /** Segments of an old incarnation (another connection on the same 4-tuple) whose data or FIN a new one took in order: corruption. */
  staleAccepted: number;
  /** FIN retransmissions by a passive closer in LAST_ACK (its FIN or the final ACK lost). */
  lastAckFinRetries: number;
  /** RSTs a passive closer (CLOSE_WAIT or LAST_ACK) accepted: the active closer had forgotten the connection. */
  passiveResets: number;
  /** threeWayClose sockets that forgot the connection before their exchange was done (the peer's data still to come). */
  closedEarly: number;
  /** Sockets open at the end that nothing will ever close: ESTABLISHED, idle, the peer's end gone. */
  neverClosed: number;
}
export const WHY_KEYS: (keyof WhyCounters)[] = [
  "unwanted", "unwantedHeldSeconds", "falselyEstablished", "deadlocks", "staleAccepted", "lastAckFinRetries", "passiveResets", "closedEarly", "neverClosed",
];

/** A fleet (a host entry with `count`): its series are its hosts' sums; here, the few that held the most ports. */
export interface FleetSummary {
  hosts: number;
  /** The hosts with the highest peak of local TCP ports in use, highest first (at most 5; ties in host order). */
  busiest: { host: string; peakPortsInUse: number }[];
}

export interface Result {
  name: string;
  seed: number;
  profile: string;
  engine: {
    version: string; workers: number; events: number; segmentEvents: number; wallSeconds: number;
    /** The simulated time the run reached: the scenario's duration, or less when it stopped early (Ctrl-C, a failure). */
    simulatedSeconds: number;
    memoryBytes: number;
    /**
     * A connected scenario split over workers (sdk/workers/pdes.ts): the windows the
     * parts ran in step, each at most `lookaheadUs` long (the smallest latency of a link
     * between two parts), and the segments that crossed between parts. What limits the
     * speed-up: a barrier per window, and the crossing traffic.
     */
    split?: { windows: number; lookaheadUs: number; crossingSegments: number };
  };
  totals: {
    attempted: number; established: number; completed: number; pending: number;
    failed: Record<Errno, number>;
    /** pawsRejected: segments PAWS dropped (RFC 7323: a TSval older than the last one taken), netstat's PAWSEstab + PAWSActive + PAWSTimewait + PAWSOldAck. */
    segments: { sent: number; dropped: number; retransmitted: number; duplicated: number; pawsRejected: number };
    /** connect()s that took over a tuple in TIME_WAIT (tw_reuse, or a bind to a fixed port): the allocator came back to it. */
    timeWaitReused: number;
    /** Sockets closed at once instead of entering TIME_WAIT because tcp_max_tw_buckets was reached (TCPTimeWaitOverflow). */
    timeWaitOverflow: number;
    /** Listeners' drops and SYN cookies, counted as netstat's TcpExt counters (ListenDrops includes ListenOverflows). */
    listen: ListenCounters;
    /** What goes wrong when a mechanism is left out: in a "why" study (a `variant` or a link's `duplicate`), docs/why.md. */
    why?: WhyCounters;
  };
  peak: Record<StateName, number>;
  /** Per host: a fleet's hosts appear as one, under the fleet's name, their counts summed. */
  series: {
    t: number[];
    states: Record<StateName, number[]>;
    byHost: Record<string, Record<StateName, number[]>>;
    portsInUse: Record<string, number[]>;
    /** UDP sockets open per host (each holds one UDP port; TCP ports are portsInUse). */
    udpSockets: Record<string, number[]>;
    /** Half-open children (SYN_RCVD) of the host's listeners: the SYN queue. */
    synQueue: Record<string, number[]>;
    /** Children that completed the handshake and wait for accept(): the accept queue. */
    acceptQueue: Record<string, number[]>;
    failures: number[];
    failuresByErrno: Record<Errno, number[]>;
  };
  /** The hosts that leave TCP mechanisms out (`variant`), with their names; absent when none does. */
  variants?: Record<string, string[]>;
  /** Per fleet: series above hold a fleet's sums under its name; this names its busiest hosts. */
  fleets?: Record<string, FleetSummary>;
  /** Per NAT host (scenarios with "kind": "nat" hosts). */
  nats?: Record<string, NatResult>;
  traces?: Trace[];
  /** Present when the run stopped early (cancelled, or a plugin failed): why. */
  error?: string;
}

/** conntrack's entry states as Linux names them (/proc/net/nf_conntrack), then UDP entries': no reply yet, replied, assured (a stream). */
export type CtStateName = "SYN_SENT" | "SYN_RECV" | "ESTABLISHED" | "FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK" | "TIME_WAIT" | "CLOSE"
  | "SYN_SENT2" | "UDP_UNREPLIED" | "UDP_REPLIED" | "UDP_ASSURED";

/** A NAT host's books (result.nats[host]). Counters are cumulative totals; series hold a value per sample. */
export interface NatResult {
  addresses: string[];
  ports: [number, number];
  /** The cloud preset it follows (scenario `nat.preset`); the ports each inside host has as its own block, and how many hosts have one. */
  preset?: string;
  portsPerHost?: number;
  blockHosts?: number;
  /** nf_conntrack_max. */
  max: number;
  totals: {
    /** Entries made: flows that got a public tuple. */
    created: number;
    forwarded: number;
    /** New flows whose first packet found no free tuple (conntrack insert_failed): dropped, the client retransmits. */
    insertFailed: number;
    /** New flows dropped because the table held `max` entries. */
    tableFull: number;
    /** Packets conntrack found invalid (no entry and not a flow's first packet, or a forbidden transition): dropped. */
    invalid: number;
    /** TIME_WAIT or CLOSE entries taken over by a new SYN ahead of them (nf_nat_used_tuple_harder). */
    takeovers: number;
    /** RSTs sent to inside hosts for packets of flows the NAT had dropped (`resetUnknown`). */
    resets: number;
  };
  peak: { entries: number; states: Record<CtStateName, number> };
  series: {
    entries: number[];
    states: Record<CtStateName, number[]>;
    /** Entries (mappings) per public address, and its ports with at least one entry. */
    mappings: Record<string, number[]>;
    portsInUse: Record<string, number[]>;
    /** Per sample interval. */
    insertFailed: number[];
    tableFull: number[];
  };
  capacity?: NatCapacity;
  /** The inside hosts holding the most of this NAT's mappings: peak and mean entries (at most 10, most first). */
  insideHosts: { host: string; peak: number; mean: number }[];
}

/**
 * What a NAT sustains: an entry holds its tuple for `holdSeconds` (until TIME_WAIT or
 * CLOSE, when Linux may take it over) and stays in the table `lifetimeSeconds` (means
 * over the entries that ended them; Little's law on the run's second half before any
 * has); ports x addresses x destinations / hold and max / lifetime are the two limits,
 * the lower binds.
 */
export interface NatCapacity {
  /** New flows per second the NAT made in the second half of the run. */
  rate: number;
  holdSeconds: number;
  lifetimeSeconds: number;
  destinations: number;
  /** null: unbounded (no entry was seen holding its tuple, or none stayed in the table). */
  portsLimit: number | null;
  tableLimit: number | null;
  sustainable: number | null;
  /** "ports per inside host": each host's block (portsPerHost x destinations / hold) fills first. */
  binds: "ports per destination" | "ports per inside host" | "table size";
  /** Whether the run met that limit (flows dropped for it). */
  reached: boolean;
}
