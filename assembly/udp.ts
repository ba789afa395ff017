// UDP, as the udp-request workload uses it: a client opens a socket on an ephemeral
// port (UDP ports are their own space, apart from TCP's), sends one query and waits;
// the reply, a timeout, or an ICMP port unreachable ends it and frees the port. No
// handshake, no states, no TIME_WAIT: a port is held exactly while its socket waits.
// A server's UDP listener is one bound socket that answers each query; it keeps no
// state per client. A reply names the client's socket slot (in the ack field) and its
// connection id, so client sockets stay out of the 4-tuple hash.

import { Errno, Flag, HostParam, Outcome, PortAllocator, Stat, State } from "./abi";
import { now, schedule } from "./wheel";
import { bump, countFailure, traced, traceOpen } from "./metrics";
import {
  addHostUdp, dirRev, findListener, hostParam, ipAddr, ipCursor, ipHost, portReserved, setIpCursor, setUdpCursor, setUdpPort, udpCursor,
  udpPortHeld,
} from "./net";
import { conn, setTimerEvent, F_UDP, hasFlag, ipIdx, laddr, lport, slotsUsed } from "./sockets";
import * as sockets from "./sockets";
import { EV_TIMER, send } from "./tcp";
import { outcome, sizeOf } from "./apps";


/** Sends a workload's query from a new socket; false when no UDP port is free (the caller counts the failure). */
export function udpQuery(ip: u32, da: u32, dp: u32, d: u32, w: u32, id: u32, request: u32, timeoutUs: u64): bool {
  const h = ipHost(ip);
  const lo = hostParam(h, HostParam.PortLo);
  const n = hostParam(h, HostParam.PortHi) - lo + 1;
  // Windows hands out TCP and UDP ports from one incremental cursor.
  const shared = hostParam(h, HostParam.PortAllocator) == PortAllocator.SequentialShared;
  let off = (shared ? ipCursor(ip) : udpCursor(ip)) % n;
  let port: i32 = -1;
  for (let i: u32 = 0; i < n; i++) {
    const p = lo + off;
    off = off + 1 == n ? 0 : off + 1;
    if (!udpPortHeld(ip, p) && !portReserved(h, p)) { port = <i32>p; break; }
  }
  if (port < 0) return false;
  if (shared) setIpCursor(ip, off);
  else setUdpCursor(ip, off);
  const la = ipAddr(ip);
  const s = sockets.open(la, <u32>port, da, dp, ip, w, d, id, F_UDP);
  setUdpPort(ip, <u32>port, true);
  addHostUdp(h, 1);
  bump(Stat.Established); // the query is out: in UDP there is nothing more to establish
  outcome(w, Outcome.Established);
  if (traced(id)) traceOpen(now, id, h, la, <u32>port, da, dp);
  send(d, la, <u32>port, da, dp, Flag.UDP, 0, s, request, w, id, State.CLOSED, 0, 0, 0);
  setTimerEvent(s, schedule(now + timeoutUs, EV_TIMER, s, 0));
  return true;
}

/** A datagram arrives: a query at a server, or a reply (or unreachable) at a client. */
export function udpArrives(d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, ack: u32, w: u32, c: u32): void {
  if (fl & (Flag.ACK | Flag.RST)) {
    // To a client socket, by slot; a slot freed since (timed out) no longer matches.
    const s = ack;
    if (s >= slotsUsed() || !hasFlag(s, F_UDP) || conn(s) != c || lport(s) != dp || laddr(s) != da) return;
    if (fl & Flag.RST) { countFailure(Errno.ECONNREFUSED); outcome(w, Outcome.Failed + Errno.ECONNREFUSED); } // ICMP port unreachable
    else { bump(Stat.Completed); outcome(w, Outcome.Completed); }
    udpClose(s);
    return;
  }
  const back = dirRev(d);
  if (findListener(da, dp, true) >= 0) {
    send(back, da, dp, sa, sp, Flag.UDP | Flag.ACK, 0, ack, sizeOf(w, c, true), w, c, State.CLOSED, 0, 0, 0);
  } else {
    send(back, da, dp, sa, sp, Flag.UDP | Flag.RST, 0, ack, 0, w, c, State.CLOSED, 0, 0, 0);
  }
}

/** No reply within the workload's timeout: the application gives up (ETIMEDOUT). */
export function udpTimeout(s: u32): void {
  countFailure(Errno.ETIMEDOUT);
  outcome(sockets.wl(s), Outcome.Failed + Errno.ETIMEDOUT);
  udpClose(s);
}

function udpClose(s: u32): void {
  const ip = ipIdx(s);
  setUdpPort(ip, lport(s), false);
  addHostUdp(ipHost(ip), -1);
  sockets.close(s);
}
