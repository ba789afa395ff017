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
}
export interface Trace {
  /** The connection's number in its group of linked hosts (connect() order); a trace is one group's. */
  id: number; client: string; server: string;
  states: TraceState[];
  segments: TraceSegment[];
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

export interface Result {
  name: string;
  seed: number;
  profile: string;
  engine: { version: string; workers: number; events: number; segmentEvents: number; wallSeconds: number; memoryBytes: number };
  totals: {
    attempted: number; established: number; completed: number; pending: number;
    failed: Record<Errno, number>;
    /** pawsRejected: segments PAWS dropped (RFC 7323: a TSval older than the last one taken), netstat's PAWSEstab + PAWSActive + PAWSTimewait + PAWSOldAck. */
    segments: { sent: number; dropped: number; retransmitted: number; duplicated: number; pawsRejected: number };
    /** connect()s that took over a tuple in TIME_WAIT (tw_reuse, or a bind to a fixed port): the allocator came back to it. */
    timeWaitReused: number;
    /** Listeners' drops and SYN cookies, counted as netstat's TcpExt counters (ListenDrops includes ListenOverflows). */
    listen: ListenCounters;
  };
  peak: Record<StateName, number>;
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
  traces?: Trace[];
  /** Present when the run stopped early (cancelled, or a plugin failed): why. */
  error?: string;
}
