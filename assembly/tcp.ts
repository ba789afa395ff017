// TCP per RFC 9293, one function per concern: `segmentArrives` decides each arriving
// segment by (state, segment), `timerFires` handles the one timer a socket has, and
// `move` is the single place a transition happens (so counting and tracing it is
// free; inlined, so a transition between constant states does only its own books).
// What the application does (send a request, answer, close) is in apps.ts.
//
// Model notes, each a deliberate simplification:
// - Links have fixed latency and no queueing, so the RTT sample taken at the end of
//   the handshake is the path's round trip; RTO = RTT + max(2 RTT, rto_min) (RFC 6298
//   with rto_min in the role of the clock granularity, close to Linux's RTT + 200 ms),
//   or 3 s when the handshake was retransmitted (RFC 6298 5.7).
// - The receiver accepts in-order data only. With DelayedAck (delack.ts) it ACKs as Linux
//   does: at once in quick-ack mode and for every second full segment, else after the
//   delayed-ACK timeout unless its own data or FIN carries the ACK first; without, it
//   ACKs every segment at once. A sender keeps at most 10 segments in flight (the
//   initial window) and after a timeout resends the whole window (go-back-N).
// - ISNs are a per-host secret hash of the 4-tuple plus a clock ticking every 64 ns,
//   as Linux does, so a new SYN for a tuple in TIME_WAIT is normally "after" the old
//   connection and may take the tuple over.
// - Timestamps (RFC 7323, net.ipv4.tcp_timestamps) as Linux 6.x: a connection uses them
//   when both hosts have them on (the link knows: dirTs); TSval is a millisecond clock
//   plus a secret offset per address pair (tcp_clock_ms + secure_tcp_ts_off), TSecr
//   echoes TS.Recent (the socket's TSRECENT). PAWS drops a segment whose TSval is older
//   than TS.Recent (tcp_validate_incoming, tcp_timewait_state_process, tcp_check_req);
//   TS.Recent is taken from a segment at or below RCV.NXT (RFC 7323's Last.ACK.sent, as
//   every segment is ACKed at once). Not modelled: PAWS's 2147 s idle limit
//   (TCP_PAWS_WRAP) and the options a SYN cookie folds into its TSval.

import { Errno, Flag, HostParam, LossKind, Outcome, Stat, State, Variant } from "./abi";
import { deferLoss } from "./hooks";
import { DEBUG, regrow } from "./mem";
import { actAs, cancelDue, evTime, kernelDue, now, orphan, schedule, scheduleLazy, scheduleNumbered, setDue, takeArrivalSeq, twFits, twPop, twPush, twRetarget, twTag, twTarget } from "./wheel";
import { bump, countFailure, setStat, stat, traced, traceOpen, traceSegment, traceState } from "./metrics";
import {
  addHostTw, addListenerQueue, addPortTw, addStateCount, dirBad, dirFirstRule, dirLatency, dirLoss, dirP,
  countDest, dirRev, dirRng, findListener, holdPort, hostParam, hostSecret, hostTw, ipAddr, ipHost, ipParam,
  listenerIp, newSegment, newSegmentInline, segmentFree, takeFreeSegment, putInFlight, putInFlightInline, releasePort, dirRemote, hostRemote, post, ruleAction, ruleDelay, ruleFires, ruleNext, setDirBad,
  bindListener, LISTENER_BIT, listenerBound, listenerPort, listenerReuse, listenerRetry, listenerStartAt,
  freeSegment, sgAck, sgConn, sgDir, sgDport, sgDst, sgFlags, sgLen, sgSeq, sgSport, sgSrc, sgWl,
  dirTs, setSgOpts, sgOpts, sgTsecr, sgTsval, DUP_BIT, dirLossKind, duplicateDelay, dirForwards,
  listenerStopAt, listenerUdp, nListeners, portUse, udpPortHeld, unbindListener,
  acceptInterval, acceptNext, acceptPending, acceptPop, acceptPush, acceptQueued, cookieSentAt, listenerBacklog,
  listenerBacklogUsed, setAcceptNext, setAcceptPending, setCookieSentAt,
} from "./net";
import { nextUnit, mix4 } from "./rng";
import {
  clearFlag, conn, dir, F_DONE, F_ERROR, F_EVER_EST, F_FIN_QUEUED, F_SERVER, F_SHUT_WR, F_ACK_NOW, F_UDP,
  hasFlag, ipIdx, irs, iss, laddr, lookupArrival, lport, raddr, rcvNxt, retries, rport, rtoMs,
  setFlag, setIrs, setIss, setRcvNxt, setRetries, setRtoMs, setSndEnd, setSndNxt, setSndUna,
  setStateRaw, setTimerEvent, sndEnd, timerEvent, sndNxt, sndUna, state, wl, setTries, tries,
  setTsRecent, tsRecent, whyBooks, whyBits, whyMark, WHY_UNWANTED, WHY_DEADLOCK, lookup, slotsUsed, whyHeldUs,
} from "./sockets";
import * as sockets from "./sockets";
import { appEof, appEstablished, appFailed, appReceived, outcome } from "./apps";
import { udpArrives, udpTimeout } from "./udp";
import {
  ackAtOnce, ackDelay, ackDueSoon, ackOnRead, ackOwed, ackSent, dackArmed, dackMissed, dataReceived, dataSent,
  delayedAcks, enterPingpong, quickAckMode,
} from "./delack";

import { EV_ARRIVAL, EV_CLOSE, EV_HOLD, EV_LISTENER, EV_SEGMENT, EV_TIMER } from "./events";
export { EV_ARRIVAL, EV_CLOSE, EV_HOLD, EV_LISTENER, EV_SEGMENT, EV_TIMER };
export const LISTENER_STOP: u32 = 0;
export const LISTENER_BIND: u32 = 1;
export const LISTENER_ACCEPT: u32 = 2;

const WINDOW_SEGMENTS: u32 = 10;
// The receive window (RCV.WND) that RST and ACK checks measure against, and the peer's
// MAX.SND.WND for RFC 5961 5.2: the largest window a SYN can offer (the model has no scaling).
const RCV_WND: u32 = 65535;
// SYN_SENT answered by an unacceptable ACK retransmits its SYN after TCP_TIMEOUT_MIN,
// 2 jiffies (Linux >= 5.7, tcp_rcv_synsent_state_process); 8 ms (HZ 250's) on a host without a hz.
const SYN_QUICK_RETRY: u64 = 8000;

// Sequence-space comparisons (RFC 9293 3.4), modulo 2^32.
@inline function seqLt(a: u32, b: u32): bool { return <i32>(a - b) < 0; }
@inline function seqLe(a: u32, b: u32): bool { return <i32>(a - b) <= 0; }
@inline function seqGt(a: u32, b: u32): bool { return <i32>(a - b) > 0; }

@inline export function hostOf(s: u32): u32 { return ipHost(ipIdx(s)); }
/** hostParam(hostOf(s), k), one load fewer (net.ts keeps each address a copy of its host's row). */
@inline function param(s: u32, k: i32): u32 { return ipParam(ipIdx(s), k); }

/**
 * The single place a socket changes state, `from` (its state now) -> `to`: per-host
 * counts, TIME_WAIT books, the listener's half-open queue, trace. Inlined where the
 * states are constants, so that only their own books remain; setState and
 * setStateFrom are the out-of-line form for a state known only at run time.
 */
@inline function move(s: u32, from: u32, to: u32, tracedFrom: u32): void {
  if (DEBUG) assert(state(s) == from, "move from the socket's state");
  const ip = ipIdx(s);
  const h = ipHost(ip);
  if (from != State.CLOSED) addStateCount(h, from, -1);
  if (to != State.CLOSED && to != State.LISTEN) addStateCount(h, to, 1);
  if (from == State.TIME_WAIT) { addHostTw(h, -1); addPortTw(ip, lport(s), -1); }
  if (to == State.TIME_WAIT) { addHostTw(h, 1); addPortTw(ip, lport(s), 1); }
  if (from == State.SYN_RCVD) { if (hasFlag(s, F_SERVER)) addListenerQueue(sndEnd(s), -1); } // its listener (passiveOpen); (nested, not &&: binaryen's selects)
  if (traced(conn(s))) traceState(now, conn(s), h, tracedFrom, to);
  setStateRaw(s, to);
}
@inline function setState(s: u32, to: u32): void { setStateFrom(s, to, -1); }
/** setState, traced as from `tracedFrom` when that is >= 0. (No default argument: its @varargs trampoline cost a call.) */
function setStateFrom(s: u32, to: u32, tracedFrom: i32): void {
  const from = state(s);
  move(s, from, to, tracedFrom >= 0 ? <u32>tracedFrom : from);
}

/**
 * A TCP socket takes its local port (ip, lp) for a peer (ra, rp), and lets go of it: the
 * port's holders and the address's destination book (pickLinux's shortcut) move together.
 */
@inline function takePort(ip: u32, lp: u32, ra: u32, rp: u32): void { holdPort(ip, lp, 1); countDest(ip, lp, ra, rp, 1); }
@inline function letGoPort(s: u32): void { releasePort(ipIdx(s), lport(s)); countDest(ipIdx(s), lport(s), raddr(s), rport(s), -1); }

/** Ends a socket: trace it to CLOSED, free its port and slot. */
function destroy(s: u32): void { destroyFrom(s, state(s)); }
/** destroy, inlined where the socket's state is a constant (LAST_ACK's last ACK, TIME_WAIT's end): only its books remain. */
@inline function destroyFrom(s: u32, from: u32): void {
  move(s, from, State.CLOSED, from);
  letGoPort(s);
  sockets.close(s);
}
/** A half-open child reset by its client: back to LISTEN (as traced), port and slot freed. */
function destroyToListen(s: u32): void {
  setState(s, State.LISTEN);
  letGoPort(s);
  sockets.close(s);
}

/** Fails a connection with an errno; the client application's view is what counts. */
function fail(s: u32, errno: i32): void {
  if (!hasFlag(s, F_SERVER | F_DONE | F_ERROR)) { // a client's, not yet done or failed (one test)
    countFailure(errno);
    if (!hasFlag(s, F_EVER_EST)) bump(Stat.ConnectFailed);
    appFailed(s, errno);
  }
  setFlag(s, F_ERROR);
  destroy(s);
}

/** The ISN of a new socket of host h on the 4-tuple (la, lp, ra, rp). */
@inline function isn(h: u32, la: u32, lp: u32, ra: u32, rp: u32): u32 {
  const k = hostSecret(h);
  const x = mix4(la ^ <u32>k, ra, lp << 16 | rp, <u32>(k >> 32));
  if (hostParam(h, HostParam.Variant) & Variant.SameIsn) return x; // every incarnation of the tuple alike
  return x + <u32>((now * 125) >> 3); // ns / 64, as Linux's secure_tcp_seq clock
}

/**
 * The TSval host h sends from address la to ra now: a millisecond clock plus a secret
 * offset per address pair (Linux tcp_clock_ms + secure_tcp_ts_off), so the connections
 * between two addresses share one clock and a new one's TSvals follow an old one's.
 */
@inline function tsClock(h: u32, la: u32, ra: u32): u32 {
  const k = hostSecret(h);
  const off = <u32>(((<u64>(la ^ <u32>k) << 32 | <u64>(ra ^ <u32>(k >> 32))) * 0x9E3779B97F4A7C15) >> 32);
  return <u32>(now / 1000) + off;
}
@inline function tsNow(s: u32): u32 { return tsClock(hostOf(s), laddr(s), raddr(s)); }

// The arriving segment's timestamps option (segmentArrives), read by the state's checks.
let rxTs = false;
// Its connection id (the incarnation it belongs to), and whether it is a delayed copy (an old duplicate).
let rxConn: u32 = 0;
let rxCopy = false;
/** A delayed copy arrives now (index.ts, around its delivery). */
export function setArrivingCopy(v: bool): void { rxCopy = v; }
let rxTsval: u32 = 0;
/** PAWS with no window (tcp_paws_reject): the arriving TSval is older than TS.Recent (0: none yet). */
@inline function pawsOld(s: u32): bool {
  const recent = tsRecent(s);
  return rxTs && recent != 0 && <i32>(recent - rxTsval) > 0;
}
/** TS.Recent takes the arriving TSval when the segment starts at or below RCV.NXT and the TSval is not older (tcp_replace_ts_recent). */
@inline function takeTsRecent(s: u32, seq: u32): void {
  if (rxTs) { if (seqLe(seq, rcvNxt(s))) { if (!pawsOld(s)) setTsRecent(s, rxTsval); } }
}

// ---- sending ----------------------------------------------------------------------

let retransmitting = false;

/** Puts a segment on the link in direction d, through its rules and loss kernel. */
export function send(d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, seq: u32, ack: u32, len: u32,
                     w: u32, c: u32, senderState: u32, opts: u32, tsval: u32, tsecr: u32): void {
  bump(Stat.SegSent);
  if (retransmitting) bump(Stat.SegRetransmitted);
  transmit(d, sa, sp, da, dp, fl, seq, ack, len, w, c, senderState, opts, tsval, tsecr);
}
/**
 * A segment a NAT forwards over its next hop (nat/nat.ts): that hop's rules and loss, not
 * counted as sent again; its options (the timestamps) pass through untouched.
 */
export function hop(d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, seq: u32, ack: u32, len: u32, w: u32, c: u32,
                    opts: u32, tsval: u32, tsecr: u32): void {
  transmit(d, sa, sp, da, dp, fl, seq, ack, len, w, c, State.CLOSED, opts, tsval, tsecr);
}
@inline function transmit(d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, seq: u32, ack: u32, len: u32,
                          w: u32, c: u32, senderState: u32, opts: u32, tsval: u32, tsecr: u32): void {
  let dropped = false;
  let deferred = false; // a TypeScript hook decides, in its next batch
  let dupDelay: i64 = -1;
  for (let r = dirFirstRule(d); r >= 0; r = ruleNext(r)) {
    if (ruleFires(r, fl, senderState, c)) {
      if (ruleAction(r) == 0) dropped = true; else dupDelay = <i64>ruleDelay(r);
    }
  }
  if (!dropped) {
    const kind = dirLossKind(d);
    if (kind == 1) {
      dropped = nextUnit(dirRng(d)) < dirP(d, 0);
    } else if (kind == 2) {
      // Gilbert-Elliott: p = P(good->bad), r = P(bad->good), k = P(deliver | good),
      // h = P(deliver | bad). The state moves first, then decides this segment.
      const u = nextUnit(dirRng(d));
      let bad = dirBad(d);
      bad = bad ? u >= dirP(d, 1) : u < dirP(d, 0);
      setDirBad(d, bad);
      dropped = nextUnit(dirRng(d)) >= (bad ? dirP(d, 3) : dirP(d, 2));
    } else if (kind == LossKind.Hook) {
      deferred = true;
    }
  }
  // (A UDP datagram's ack field carries its client socket's slot, which is no business of a trace.)
  if (traced(c) && !deferred) traceSegment(now, c, d, fl, dropped, seq, fl & Flag.UDP ? 0 : ack, len, opts, tsval, tsecr);
  if (dropped) { bump(Stat.SegDropped); return; }
  if (dirLoss(d) & DUP_BIT) { if (dupDelay < 0) dupDelay = duplicateDelay(d, fl); } // the link's duplicating process
  const lat = <u64>dirLatency(d);
  const g = newSegmentInline(d, sa, sp, da, dp, fl, seq, ack, len, w, c);
  setSgOpts(g, opts, tsval, tsecr);
  putInFlight(g, d, now + lat, takeArrivalSeq());
  if (deferred) deferLoss(now, g, d, fl, senderState, seq, ack, len, c);
  if (dupDelay >= 0) {
    bump(Stat.SegDuplicated);
    if (traced(c)) traceSegment(now + <u64>dupDelay, c, d, fl, false, seq, fl & Flag.UDP ? 0 : ack, len, opts, tsval, tsecr);
    const copy = newSegment(d, sa, sp, da, dp, fl, seq, ack, len, w, c);
    setSgOpts(copy, opts, tsval, tsecr); // the same bytes, TSval included: PAWS knows it for old
    if (dirRemote(d)) post(copy, now + lat + <u64>dupDelay, takeArrivalSeq(), 1);
    else scheduleNumbered(now + lat + <u64>dupDelay, EV_SEGMENT, copy, 0, takeArrivalSeq());
  }
}

/**
 * send() for a socket's segment: one call of five arguments instead of twelve. On a
 * direction with neither rules nor a loss model (the common case) nothing can drop or
 * copy it, so its record is written straight from the socket's fields, and that path
 * calls nothing while the pool's free list has a record (a trace is written last, from
 * the record). Anything else goes through send(), a call after which nothing is live:
 * no value of the common path is kept across a call, which made the JIT spill them.
 * Inlined where the segments of an ordinary connection are sent (handshake, data, FIN,
 * the ACKs of flush, synSent and TIME_WAIT's entry); emit() is the same out of line, for
 * the rare paths (RSTs, challenge ACKs, TIME_WAIT's answers), which it would only grow.
 */
@inline function sendFrom(s: u32, fl: u32, seq: u32, ack: u32, len: u32): void {
  sendWithTs(s, fl, seq, ack, len, dirTs(dir(s)));
}
/** sendFrom, with the timestamps option (TSval now, TSecr TS.Recent) when `ts`. */
@inline function sendWithTs(s: u32, fl: u32, seq: u32, ack: u32, len: u32, ts: bool): void {
  const d = dir(s);
  // Three tests, each its own branch (as one condition they were computed in full).
  if (!segmentFree()) { sendFromRuled(s, d, fl, seq, ack, len, ts); return; }
  if (dirLoss(d) != LossKind.None) { sendFromRuled(s, d, fl, seq, ack, len, ts); return; }
  if (dirFirstRule(d) >= 0) { sendFromRuled(s, d, fl, seq, ack, len, ts); return; }
  bump(Stat.SegSent);
  if (retransmitting) bump(Stat.SegRetransmitted);
  const c = conn(s);
  const g = takeFreeSegment(d, laddr(s), lport(s), raddr(s), rport(s), fl, seq, ack, len, wl(s), c);
  if (ts) setSgOpts(g, 1, tsNow(s), tsRecent(s)); else setSgOpts(g, 0, 0, 0);
  putInFlightInline(g, d, now + <u64>dirLatency(d), takeArrivalSeq());
  if (traced(c)) traceSent(g);
}
/** sendFrom's other paths: send() with the socket's fields. */
function sendFromRuled(s: u32, d: u32, fl: u32, seq: u32, ack: u32, len: u32, ts: bool): void {
  send(d, laddr(s), lport(s), raddr(s), rport(s), fl, seq, ack, len, wl(s), conn(s), state(s),
    ts ? 1 : 0, ts ? tsNow(s) : 0, ts ? tsRecent(s) : 0);
}
function traceSent(g: u32): void {
  traceSegment(now, sgConn(g), sgDir(g), sgFlags(g), false, sgSeq(g), sgAck(g), sgLen(g), sgOpts(g), sgTsval(g), sgTsecr(g));
}

/**
 * sendFrom out of line, for the rare paths. A RST without ACK is one Linux makes for a
 * segment (tcp_v4_send_reset, e.g. SYN_SENT's answer to an unacceptable ACK): no options;
 * the RST,ACK of a close (tcp_send_active_reset) carries them.
 */
function emit(s: u32, fl: u32, seq: u32, ack: u32, len: u32): void {
  sendWithTs(s, fl, seq, ack, len, fl == Flag.RST ? false : dirTs(dir(s)));
}

/** The current retransmission timeout with exponential backoff, in microseconds. */
function rto(s: u32): u64 { return backoff(s, retries(s)); }
/** The RTO backed off r times, capped at rto_max. */
function backoff(s: u32, r: u32): u64 {
  let base = <u64>rtoMs(s) * 1000;
  const hz = <u64>param(s, HostParam.Hz);
  // Linux keeps icsk_rto in jiffies and doubles those (tcp_retransmit_timer): whole jiffies, floored so kernelDue gets them back.
  if (hz > 0) base = (base * hz + 999999) / 1000000 * 1000000 / hz;
  const cap = <u64>param(s, HostParam.RtoMax);
  if (r >= 32) return cap;
  return min(base << r, cap);
}

/**
 * (Re)starts the socket's timer to fire `delay` from now. The socket keeps one timer
 * event (wheel.ts): a deadline at or after the event's slot time only moves its due
 * time on; an earlier one files a new event, the old one orphaned. A new event is
 * filed no later than rto_min from now, so the deadlines that usually follow (the
 * first RTO after the handshake's, a FIN's after the data's) are later than it.
 */
@inline function armTimer(s: u32, delay: u64): void {
  const due = kernelDue(param(s, HostParam.Hz), delay); // on the host's timer wheel, if it has a hz
  const e = timerEvent(s);
  // (Nested tests, not an && chain, which binaryen would fold into a select.)
  if (e != 0) {
    if (evTime(e) < due) { setDue(e, due); return; } // the usual case, inlined
  }
  fileTimer(s, due);
}
/** armTimer's other case: a new event (the old one, if any, orphaned). */
function fileTimer(s: u32, due: u64): void {
  const e = timerEvent(s);
  if (e != 0) orphan(e);
  const at = min(due, now + <u64>param(s, HostParam.RtoMin));
  setTimerEvent(s, scheduleLazy(at, due, EV_TIMER, s, 0));
}

/** Cancels the socket's timer: its event stays filed (dropped when reached, unless re-armed first). */
@inline function cancelTimer(s: u32): void {
  const e = timerEvent(s);
  if (e != 0) cancelDue(e);
}

/** Sends queued data and a queued FIN within the window; owed ACKs ride along. (Inlined into its two callers.) */
@inline function output(s: u32): void {
  const end = sndEnd(s);
  let nxt = sndNxt(s);
  const finQueued = hasFlag(s, F_FIN_QUEUED);
  // (Tests here as branches, not && / || chains: binaryen folds those into selects
  // computed in full, and V8 spills the intermediate bools.)
  if (!seqLt(nxt, end)) {
    if (!finQueued) return; // nothing to send
    if (nxt != end) return;
  }
  const mss = param(s, HostParam.Mss);
  const win = mss * WINDOW_SEGMENTS;
  const una = sndUna(s);
  let sent = false;
  let data = false;
  const wasIdle = una == nxt;
  while (true) {
    if (seqLt(nxt, end)) {
      if (nxt - una >= win) break;
      data = true;
      const len = min(mss, end - nxt);
      const last = nxt + len == end;
      let fl: u32 = Flag.ACK;
      if (last) {
        fl |= Flag.PSH;
        if (finQueued) fl |= Flag.FIN;
      }
      sendFrom(s, fl, nxt, rcvNxt(s), len);
      nxt += len + (fl & Flag.FIN ? 1 : 0);
      sent = true;
    } else {
      if (!finQueued) break;
      if (nxt != end) break;
      sendFrom(s, Flag.FIN | Flag.ACK, nxt, rcvNxt(s), 0);
      nxt += 1;
      sent = true;
    }
  }
  setSndNxt(s, nxt);
  if (sent) {
    if (hasFlag(s, F_ACK_NOW)) acked(s); // the owed ACK rode on the first of them
    if (data) { if (delayedAcks(s)) dataSent(s); }
    if (wasIdle) armTimer(s, rto(s));
    else if (retransmitting) armTimer(s, rto(s));
  }
}

/**
 * Sends what the socket owes: data, FIN, or at least a pure ACK. An owed ACK that
 * nothing carried waits for the delayed-ACK timer instead when `delay` (the caller
 * decided so, delack.ts) or when that timer is already running.
 */
export function flush(s: u32, delay: bool): void {
  if (state(s) == State.CLOSED) return;
  output(s);
  if (hasFlag(s, F_ACK_NOW)) {
    if (delay) ackDelay(s, pathRtt(s));
    else if (!dackArmed(s)) sendAck(s);
  }
}
/** A pure ACK of everything received. */
function sendAck(s: u32): void {
  sendFrom(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0);
  acked(s);
}
/** The owed ACK went out on a segment: no longer owed (and, with delayed ACKs, tcp_event_ack_sent). */
@inline function acked(s: u32): void {
  clearFlag(s, F_ACK_NOW);
  if (delayedAcks(s)) ackSent(s);
}
/** The path's round trip (the model's links have fixed latencies, so it is the SRTT), us. */
function pathRtt(s: u32): u64 {
  const d = dir(s);
  return <u64>dirLatency(d) + <u64>dirLatency(dirRev(d));
}

function sendSyn(s: u32): void {
  sendFrom(s, Flag.SYN, iss(s), 0, 0);
}
function sendSynAck(s: u32): void {
  sendFrom(s, Flag.SYN | Flag.ACK, iss(s), rcvNxt(s), 0);
}

// ---- opening ------------------------------------------------------------------------

/** connect(): a new socket on the given local port, SYN sent. */
export function activeOpen(ip: u32, port: u32, da: u32, dp: u32, d: u32, w: u32, id: u32): u32 {
  const h = ipHost(ip);
  const la = ipAddr(ip);
  const s = sockets.open(la, port, da, dp, ip, w, d, id, 0);
  takePort(ip, port, da, dp);
  let i = isn(h, la, port, da, dp);
  if (inheritIsn != 0) { i = inheritIsn; setTsRecent(s, inheritTsRecent); inheritIsn = 0; } // the TIME_WAIT just taken over (takeOverTimeWait)
  setIss(s, i); setSndUna(s, i); setSndNxt(s, i + 1); setSndEnd(s, i + 1);
  setRtoMs(s, ipParam(ip, HostParam.RtoInit) / 1000);
  if (traced(id)) traceOpen(now, id, h, la, port, da, dp);
  setIrs(s, <u32>(now / 1000)); // until the SYN-ACK: the first SYN's time, ms (Linux's retrans_stamp)
  move(s, State.CLOSED, State.SYN_SENT, State.CLOSED);
  sendSyn(s);
  fileTimer(s, kernelDue(ipParam(ip, HostParam.Hz), rto(s))); // a fresh slot has no timer event
  return s;
}

/** A SYN reached a listener: a child socket in SYN_RCVD answers SYN-ACK. */
function passiveOpen(l: u32, d: u32, sa: u32, sp: u32, da: u32, dp: u32, seq: u32, w: u32, c: u32, twIsn: u32): void {
  // Linux tcp_conn_request: a full request queue (6.x inet_csk_reqsk_queue_is_full: qlen >=
  // sk_max_ack_backlog) answers with a SYN cookie (tcp_syncookies 1; 2: always), or drops the SYN (0).
  const ip = listenerIp(l);
  const cookies = ipParam(ip, HostParam.Syncookies);
  const qlen = listenerBacklogUsed(l);
  const most = maxAckBacklog(l);
  let cookie = cookies == 2;
  if (qlen >= most) {
    if (cookies == 0) { bump(Stat.ListenDrops); return; }
    cookie = true;
  }
  // sk_acceptq_is_full: the SYN is dropped whatever the cookies (LISTENOVERFLOWS and LISTENDROPS).
  if (acceptQueued(l) > most) { bump(Stat.ListenOverflows); bump(Stat.ListenDrops); return; }
  if (cookie) { sendCookie(l, d, sa, sp, da, dp, seq, w, c); return; }
  // Without cookies the last quarter of tcp_max_syn_backlog is kept for proven peers (none here).
  if (cookies == 0) {
    const msb = ipParam(ip, HostParam.MaxSynBacklog);
    if (qlen > msb - (msb >> 2)) { bump(Stat.ListenDrops); return; } // max_syn_backlog - qlen < max_syn_backlog >> 2
  }
  newChild(l, d, sa, sp, da, dp, seq, w, c, twIsn);
}
/** sk_max_ack_backlog: listen()'s backlog capped by net.core.somaxconn. */
@inline function maxAckBacklog(l: u32): u32 { return min(listenerBacklog(l), ipParam(listenerIp(l), HostParam.Somaxconn)); }

/**
 * A half-open child in SYN_RCVD for the SYN (seq) from (sa, sp), SYN-ACK sent; returns it.
 * Its ISN is `twIsn` when the SYN reopened a TIME_WAIT (0: none), else the secret hash's.
 */
function newChild(l: u32, d: u32, sa: u32, sp: u32, da: u32, dp: u32, seq: u32, w: u32, c: u32, twIsn: u32): u32 {
  const ip = listenerIp(l);
  const h = ipHost(ip);
  const s = sockets.open(da, dp, sa, sp, ip, w, dirRev(d), c, F_SERVER);
  takePort(ip, dp, sa, sp);
  addListenerQueue(l, 1);
  setIrs(s, seq); setRcvNxt(s, seq + 1);
  if (rxTs) setTsRecent(s, rxTsval); // the SYN's TSval, echoed by the SYN-ACK
  const i = twIsn != 0 ? twIsn : isn(h, da, dp, sa, sp);
  // Until the handshake completes SND.END would be ISS + 1: it holds the listener instead,
  // whose half-open count the child leaves (move), as it leaves SYN_RCVD (a stopping server
  // ends its half-open children before it unbinds, so the listener is still there).
  setIss(s, i); setSndUna(s, i); setSndNxt(s, i + 1); setSndEnd(s, l);
  setRtoMs(s, ipParam(ip, HostParam.RtoInit) / 1000);
  move(s, State.CLOSED, State.SYN_RCVD, State.LISTEN);
  if (rxCopy) unwanted(s);
  sendSynAck(s);
  if (ipParam(ip, HostParam.Variant) & Variant.TwoWayHandshake) { twoWayEstablish(s, l); return s; }
  fileTimer(s, kernelDue(ipParam(ip, HostParam.Hz), rto(s))); // a fresh slot has no timer event
  return s;
}

/** A child made by an old duplicate SYN: nobody wants it. */
function unwanted(s: u32): void {
  whyBump(Stat.UnwantedConns);
  if (whyBooks()) whyMark(s, WHY_UNWANTED);
}
/** Counts a "why" counter (only with the books on: a run without them counts what it always did). */
@inline function whyBump(k: i32): void { if (whyBooks()) bump(k); }

/**
 * twoWayHandshake: the SYN-ACK just sent counts as delivered (SND.UNA past it, never
 * retransmitted), and the child is ESTABLISHED at once, accepted and its application told.
 */
function twoWayEstablish(s: u32, l: u32): void {
  setSndUna(s, iss(s) + 1);
  establish(s, State.SYN_RCVD);
  if (acceptInterval(l) != 0) enqueueChild(l, s); else appEstablished(s);
  if (state(s) != State.CLOSED) flush(s, false);
}

// ---- SYN cookies (Linux syncookies.c, without the MSS index) ----------------------------
// ISN = hash(tuple) + the client's ISN + count << 24 + (hash(tuple, count) & 0xFFFFFF), count
// a minute counter; a cookie is good for 2 minutes (MAX_SYNCOOKIE_AGE). Nothing is kept.
@inline function cookieHash(h: u32, la: u32, lp: u32, ra: u32, rp: u32, salt: u32): u32 {
  const k = hostSecret(h);
  return mix4(la ^ <u32>(k >> 32), ra ^ salt, lp << 16 | rp, <u32>k ^ 0x5C0011E5);
}
@inline function cookieCount(): u32 { return <u32>(now / 60000000); }
function sendCookie(l: u32, d: u32, sa: u32, sp: u32, da: u32, dp: u32, seq: u32, w: u32, c: u32): void {
  const h = ipHost(listenerIp(l));
  const n = cookieCount();
  const isnc = cookieHash(h, da, dp, sa, sp, 0) + seq + (n << 24) + (cookieHash(h, da, dp, sa, sp, n + 1) & 0xFFFFFF);
  bump(Stat.SyncookiesSent);
  setCookieSentAt(l, now + 1);
  const ts = rxTs && dirTs(d);
  send(dirRev(d), da, dp, sa, sp, Flag.SYN | Flag.ACK, isnc, seq + 1, 0, w, c, State.LISTEN,
    ts ? 1 : 0, ts ? tsClock(h, da, sa) : 0, ts ? rxTsval : 0);
}
/**
 * An ACK with no socket reached listener l (Linux tcp_v4_cookie_check, only within 2 minutes
 * of the listener's last cookie): a good cookie makes the child, established at once if the
 * accept queue has room (else the ACK is dropped, LISTENOVERFLOWS). Returns false when the
 * ACK is not a cookie's (the caller resets it).
 */
function cookieAck(l: u32, d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, seq: u32, ack: u32, len: u32, w: u32, c: u32): bool {
  const at = cookieSentAt(l);
  if (at == 0 || now + 1 - at > 120000000) return false; // tcp_synq_no_recent_overflow
  const h = ipHost(listenerIp(l));
  const t = ack - 1 - (seq - 1) - cookieHash(h, da, dp, sa, sp, 0);
  const age = (cookieCount() - (t >> 24)) & 0xFF;
  const n = cookieCount() - age;
  if (age >= 2 || ((t - cookieHash(h, da, dp, sa, sp, n + 1)) & 0xFFFFFF) != 0) { bump(Stat.SyncookiesFailed); return false; }
  bump(Stat.SyncookiesRecv);
  if (acceptQueued(l) > maxAckBacklog(l)) { bump(Stat.ListenOverflows); bump(Stat.ListenDrops); return true; }
  // The child is made as from the SYN (without its SYN-ACK), then completed by this ACK.
  const ip = listenerIp(l);
  const s = sockets.open(da, dp, sa, sp, ip, w, dirRev(d), c, F_SERVER);
  takePort(ip, dp, sa, sp);
  addListenerQueue(l, 1);
  setIrs(s, seq - 1); setRcvNxt(s, seq);
  if (rxTs) setTsRecent(s, rxTsval);
  setIss(s, ack - 1); setSndUna(s, ack - 1); setSndNxt(s, ack); setSndEnd(s, l);
  setRtoMs(s, ipParam(ip, HostParam.RtoInit) / 1000);
  move(s, State.CLOSED, State.SYN_RCVD, State.LISTEN);
  synRcvd(s, fl, seq, ack, len);
  return true;
}

// ---- the accept queue -------------------------------------------------------------------

/** A child that completed its handshake waits in its listener's accept queue for the application's next accept(). */
function enqueueChild(l: u32, s: u32): void {
  setTries(s, 1);
  acceptPush(l, <u64>conn(s) << 32 | <u64>s);
  if (!acceptPending(l)) {
    setAcceptPending(l, true);
    schedule(max(now, acceptNext(l)), EV_LISTENER, l, LISTENER_ACCEPT);
  }
}
/** The application's accept() on listener l: the oldest child, then the next one no sooner than the accept interval. */
function acceptDue(l: u32): void {
  setAcceptPending(l, false);
  if (acceptQueued(l) == 0) return;
  const v = acceptPop(l);
  setAcceptNext(l, now + <u64>acceptInterval(l));
  if (acceptQueued(l) != 0) {
    setAcceptPending(l, true);
    schedule(acceptNext(l), EV_LISTENER, l, LISTENER_ACCEPT);
  }
  // A child reset meanwhile was freed (accept() would return it, and its read() the error).
  const s = <u32>v;
  if (state(s) <= <u32>State.LISTEN || !hasFlag(s, F_SERVER) || tries(s) == 0 || conn(s) != <u32>(v >> 32)) return;
  accepted(s);
}
/** accept() returned child s: the application reads what arrived before (ACKed and queued meanwhile), then answers. */
function accepted(s: u32): void {
  setTries(s, 0);
  appEstablished(s);
  if (state(s) == State.CLOSED) return;
  const fin = state(s) == State.CLOSE_WAIT;
  const total = rcvNxt(s) - irs(s) - 1 - (fin ? 1 : 0);
  if (total > 0) appReceived(s, total);
  if (fin) { if (state(s) != State.CLOSED) appEof(s); }
  flush(s, false);
}

/** The handshake is complete on this end, in state `from` (SYN_SENT or SYN_RCVD). */
@inline function establish(s: u32, from: u32): void {
  const d = dir(s);
  const rtt = dirLatency(d) + dirLatency(dirRev(d));
  const ip = ipIdx(s);
  let r: u32;
  if (retries(s) == 0) r = rtt + max(2 * rtt, ipParam(ip, HostParam.RtoMin));
  else r = 3000000;
  r = min(r, ipParam(ip, HostParam.RtoMax));
  setRtoMs(s, (r + 999) / 1000);
  setRetries(s, 0);
  cancelTimer(s);
  move(s, from, State.ESTABLISHED, from);
  if (from == State.SYN_RCVD) setSndEnd(s, iss(s) + 1); // a server child's held its listener
  if (!hasFlag(s, F_EVER_EST)) {
    setFlag(s, F_EVER_EST);
    if (!hasFlag(s, F_SERVER)) { bump(Stat.Established); outcome(wl(s), Outcome.Established); }
    else if (whyBooks()) { if (whyBits(s) & WHY_UNWANTED) bump(Stat.FalselyEstablished); }
  }
}

// ---- closing ------------------------------------------------------------------------

/** close() by the application: FIN after the queued data, or RST with SO_LINGER 0. */
export function appClose(s: u32, linger0: bool): void {
  if (hasFlag(s, F_FIN_QUEUED)) { if (hasFlag(s, F_SHUT_WR)) orphaned(s); return; }
  if (linger0) {
    // What write() handed over went out at once (within the window); close() discards the
    // rest and resets at SND.NXT, after it (Linux tcp_disconnect). The owed ACK rides on the RST.
    clearFlag(s, F_ACK_NOW);
    flush(s, false);
    emit(s, Flag.RST | Flag.ACK, sndNxt(s), rcvNxt(s), 0);
    destroy(s);
    return;
  }
  setFlag(s, F_FIN_QUEUED);
  const st = state(s);
  if (st == State.ESTABLISHED) move(s, State.ESTABLISHED, State.FIN_WAIT_1, State.ESTABLISHED);
  else if (st == State.CLOSE_WAIT) move(s, State.CLOSE_WAIT, State.LAST_ACK, State.CLOSE_WAIT);
}

/** shutdown(SHUT_WR): a FIN after the queued data; the application still reads, so the socket is no orphan. */
export function appShutdown(s: u32): void {
  appClose(s, false);
  setFlag(s, F_SHUT_WR);
}
/** close() after shutdown(SHUT_WR): now an orphan, so FIN_WAIT_2 starts tcp_fin_timeout (Linux tcp_close). */
function orphaned(s: u32): void {
  clearFlag(s, F_SHUT_WR);
  if (state(s) == State.FIN_WAIT_2) finWait2Timer(s);
}
/** FIN_WAIT_2's timer: tcp_fin_timeout for an orphan (0: wait forever); a half-closed socket waits for its peer. */
function finWait2Timer(s: u32): void {
  const ft = param(s, HostParam.FinTimeout);
  if (ft > 0) { if (!hasFlag(s, F_SHUT_WR)) { armTimer(s, <u64>ft); return; } }
  cancelTimer(s);
}

/** Enters TIME_WAIT from `from` (a constant where inlined), ACKing the peer's FIN when this step received it. */
@inline function enterTimeWait(s: u32, ackFin: bool, from: u32): void {
  const h = hostOf(s);
  // Linux: past tcp_max_tw_buckets, "time wait bucket table overflow": the socket just closes.
  const overflow = hostTw(h) >= param(s, HostParam.MaxTwBuckets);
  if (!overflow) move(s, from, State.TIME_WAIT, from);
  if (ackFin) sendFrom(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0); // the last ACK
  if (hasFlag(s, F_ACK_NOW)) acked(s);
  if (overflow) { twSkipped(s); destroyFrom(s, from); return; }
  setSndEnd(s, <u32>(now / 1000)); // entry time in ms, for tw_reuse
  if (armTimeWait(s)) { if (sockets.compactable(s)) twRetarget(h, TW_COMPACT | sockets.toTimeWaitTable(s)); }
}
/** A TIME_WAIT FIFO entry's target with this bit names a compact TIME_WAIT entry (sockets.ts), not a slot. */
const TW_COMPACT: u32 = 0x80000000;

/** No TIME_WAIT: past tcp_max_tw_buckets (counted), or noTimeWait (which sets that to 0). */
function twSkipped(s: u32): void {
  if ((param(s, HostParam.Variant) & Variant.NoTimeWait) == 0) bump(Stat.TwOverflow);
}

/**
 * Sockets open now that nothing will ever close, counted into Stat.NeverClosed, and the
 * unwanted ones still held, their time to `end` added to Stat.UnwantedHeldUs: called once,
 * when the run ends (one scan of the socket table). Never closed: ESTABLISHED with
 * nothing unacknowledged (no timer will fire; keepalive is not modelled) while its peer's
 * end is gone (no socket of that connection on the tuple seen from the other side);
 * not judged behind a NAT, where the peer's tuple is another.
 */
export function whyFinish(end: u64): void {
  const n = slotsUsed();
  for (let s: u32 = 0; s < n; s++) {
    const st = state(s);
    if (st <= <u32>State.LISTEN || hasFlag(s, F_UDP)) continue;
    if (whyBooks()) { if (whyBits(s) & WHY_UNWANTED) setStat(Stat.UnwantedHeldUs, stat(Stat.UnwantedHeldUs) + whyHeldUs(s, end)); }
    if (st != State.ESTABLISHED || sndUna(s) != sndNxt(s) || sndNxt(s) != sndEnd(s) || dirForwards(dir(s)) != 0) continue;
    const p = lookup(raddr(s), rport(s), laddr(s), lport(s));
    if (p >= 0) { if (conn(<u32>p) == conn(s)) continue; }
    bump(Stat.NeverClosed);
  }
}

/**
 * (Re)starts TIME_WAIT's timer: an entry in the TIME_WAIT FIFO (wheel.ts) when the host's
 * TimeWait is the FIFO's length, the socket's wheel timer otherwise. The socket lets go of
 * its wheel event and keeps the entry's tag in IRS (unused from TIME_WAIT on).
 */
function armTimeWait(s: u32): bool {
  const d = <u64>param(s, HostParam.TimeWait);
  const hz = param(s, HostParam.Hz);
  const h = hostOf(s);
  if (!twFits(h, d, hz)) { armTimer(s, d); return false; }
  const e = timerEvent(s);
  if (e != 0) { orphan(e); setTimerEvent(s, 0); }
  setIrs(s, twPush(h, s, kernelDue(hz, d)));
  return true;
}

/**
 * The TIME_WAIT FIFO's first entry is due (it is the first lane): its socket closes, as
 * timerFires would close it, without its tests (it let go of its wheel event on filing
 * the entry). A stale entry (the socket was killed early, or restarted TIME_WAIT with a
 * new entry) is dropped as nothing; returns whether the entry was live (an event).
 */
export function twDue(h: u32): bool {
  let s = twTarget(h);
  const tag = twTag(h);
  twPop(h);
  if (s & TW_COMPACT) { // a compact entry: its connection back in a slot (or the slot it went back to before)
    const t = s & ~TW_COMPACT;
    s = sockets.fromTimeWaitTable(t);
    sockets.freeTimeWaitEntry(t);
  }
  if (state(s) != State.TIME_WAIT) return false;
  if (irs(s) != tag) return false;
  if (hostOf(s) != h) return false; // the slot went to another host's connection (tags are per host)
  if (DEBUG) assert(timerEvent(s) == 0 && !hasFlag(s, F_UDP), "a live TIME_WAIT entry");
  destroyFrom(s, State.TIME_WAIT);
  return true;
}

/**
 * tw_reuse: may a new connect() take over this TIME_WAIT socket's tuple? Only when the
 * old connection used timestamps (Linux tcp_twsk_unique: tw_ts_recent_stamp), so that
 * PAWS keeps its old segments out of the new one.
 */
export function twReusable(s: u32): bool {
  return twReuseApplies(hostOf(s), laddr(s), raddr(s)) && dirTs(dir(s)) && <u32>(now / 1000) - sndEnd(s) >= param(s, HostParam.TwReuseDelay) / 1000;
}
/** tcp_tw_reuse: 1 on, 2 loopback only (Linux's default); never without timestamps. */
export function twReuseApplies(h: u32, la: u32, ra: u32): bool {
  if (hostParam(h, HostParam.Timestamps) == 0) return false;
  const mode = hostParam(h, HostParam.TwReuse);
  return mode == 1 || (mode == 2 && la >> 24 == 127 && ra >> 24 == 127);
}
// What the next activeOpen inherits from the TIME_WAIT it takes over (0: nothing).
let inheritIsn: u32 = 0;
let inheritTsRecent: u32 = 0;
/**
 * tw_reuse takes over TIME_WAIT socket s for the connect() that follows: the new
 * connection starts at tw_snd_nxt + 65537 (past any window of the old one) and keeps the
 * old TS.Recent (Linux tcp_twsk_unique).
 */
export function takeOverTimeWait(s: u32): void {
  const i = sndNxt(s) + 65537;
  inheritIsn = i != 0 ? i : 1;
  inheritTsRecent = tsRecent(s);
  destroy(s);
}

// ---- arrivals -------------------------------------------------------------------------

/**
 * Segment g (net.ts) arrives at its destination address. Its fields are read as they
 * are needed, not all up front (which kept eleven values alive across the lookup's
 * call); the record is freed before anything is sent, and freeing overwrites only its
 * ack field, so the no-socket path still reads the addresses from it.
 */
export function segmentArrives(g: u32): void {
  const fl = sgFlags(g);
  if (fl & Flag.UDP) {
    const ack = sgAck(g);
    freeSegment(g);
    udpArrives(sgDir(g), sgSrc(g), sgSport(g), sgDst(g), sgDport(g), fl, ack, sgWl(g), sgConn(g));
    return;
  }
  const c0 = sgConn(g);
  rxConn = c0;
  const found = lookupArrival(g, c0, sgDir(g));
  const seq = sgSeq(g); const ack = sgAck(g); const len = sgLen(g);
  rxTs = sgOpts(g) != 0; rxTsval = sgTsval(g);
  freeSegment(g);
  let twIsn: u32 = 0;
  if (found >= 0) {
    const s = <u32>found;
    const st = state(s);
    if (st == State.SYN_SENT) { synSent(s, fl, seq, ack); return; }
    if (st == State.SYN_RCVD) { synRcvd(s, fl, seq, ack, len); return; }
    if (st == State.TIME_WAIT) {
      twIsn = timeWait(s, fl, seq, len);
      if (twIsn == 0) return;
      // The TIME_WAIT socket gave its tuple up to a new SYN (and sent nothing): go on as if it were gone.
    } else {
      synchronized(s, fl, seq, ack, len);
      return;
    }
  }
  const d = sgDir(g);
  const sa = sgSrc(g); const sp = sgSport(g); const da = sgDst(g); const dp = sgDport(g);
  const w = sgWl(g); const c = sgConn(g);
  const ctl = fl & (Flag.SYN | Flag.ACK | Flag.RST);
  if (ctl == Flag.SYN) {
    const l = findListener(da, dp);
    if (l >= 0) { passiveOpen(<u32>l, d, sa, sp, da, dp, seq, w, c, twIsn); return; }
  } else if (ctl == Flag.ACK) {
    const l = findListener(da, dp);
    if (l >= 0) { if (cookieAck(<u32>l, d, sa, sp, da, dp, fl, seq, ack, len, w, c)) return; }
  }
  // No socket wants it (RFC 9293 3.10.7.1): answer anything but a RST with a RST.
  if (fl & Flag.RST) return;
  const back = dirRev(d);
  if (fl & Flag.ACK) {
    send(back, da, dp, sa, sp, Flag.RST, ack, 0, 0, w, c, State.CLOSED, 0, 0, 0);
  } else {
    const segLen = len + (fl & Flag.SYN ? 1 : 0) + (fl & Flag.FIN ? 1 : 0);
    send(back, da, dp, sa, sp, Flag.RST | Flag.ACK, 0, seq + segLen, 0, w, c, State.CLOSED, 0, 0, 0);
  }
}

function synSent(s: u32, fl: u32, seq: u32, ack: u32): void {
  const ackOk = ack == iss(s) + 1;
  if (fl & Flag.ACK) { if (!ackOk) { // (nested, not &&: binaryen's selects)
    // An ACK for something we never sent (e.g. a SYN-ACK answering an old duplicate SYN, or
    // a TIME_WAIT's ACK): RST, and the SYN again soon (Linux, before any retransmission).
    if (!(fl & Flag.RST)) emit(s, Flag.RST, ack, 0, 0);
    // Only re-arms the retransmission timer: when it fires it is an ordinary SYN retransmission.
    if (retries(s) == 0) { const hz = <u64>param(s, HostParam.Hz); armTimer(s, hz > 0 ? 2000000 / hz : SYN_QUICK_RETRY); }
    return;
  } }
  if (fl & Flag.RST) {
    if (fl & Flag.ACK) fail(s, Errno.ECONNREFUSED); // a RST without an ACK is ignored here
    return;
  }
  if (!(fl & Flag.SYN)) { if (fl & Flag.ACK) { if (!rxCopy) deadlocked(s); } return; }
  if (!(fl & Flag.ACK)) { if (pawsOld(s)) { bump(Stat.PawsRejected); return; } } // crossed SYNs, against a TS.Recent taken over with a TIME_WAIT
  if (rxTs) setTsRecent(s, rxTsval);
  setIrs(s, seq); setRcvNxt(s, seq + 1);
  if (fl & Flag.ACK) {
    setSndUna(s, ack);
    establish(s, State.SYN_SENT);
    sendFrom(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0); // the handshake's third segment
    appEstablished(s);
    flush(s, false);
  } else {
    // Simultaneous open: both SYNs crossed. Answer SYN-ACK from SYN_RCVD.
    setState(s, State.SYN_RCVD);
    sendSynAck(s);
    armTimer(s, rto(s));
  }
}

/**
 * SYN_SENT got an ACK of its SYN without a SYN: its peer is established (a two-way
 * handshake's server whose SYN-ACK was lost) while this end still waits for the SYN-ACK,
 * which will never come. Both ends wait on each other: a deadlock, counted once.
 */
function deadlocked(s: u32): void {
  if (!whyBooks()) return;
  if (whyMark(s, WHY_DEADLOCK)) bump(Stat.Deadlocks);
}

function synRcvd(s: u32, fl: u32, seq: u32, ack: u32, len: u32): void {
  // PAWS first (Linux tcp_check_req): a segment older than TS.Recent is dropped, and
  // answered with an ACK unless it is a RST or an ACK the ACK check below refuses.
  const paws = pawsOld(s);
  if (fl & Flag.RST) {
    if (paws) { bump(Stat.PawsRejected); return; }
    if (!rstAccepted(s, seq)) return;
    // A passive open returns to LISTEN (the half-open child is freed); an active one
    // (simultaneous open) is refused.
    if (hasFlag(s, F_SERVER)) destroyToListen(s);
    else fail(s, Errno.ECONNREFUSED);
    return;
  }
  if ((fl & (Flag.SYN | Flag.ACK)) == Flag.SYN) { // one test for SYN without ACK
    if (!paws) { if (seq == irs(s)) { retransmitting = true; sendSynAck(s); retransmitting = false; return; } } // its SYN was resent: so is our SYN-ACK
    if (!paws) return;
  }
  if (fl & Flag.ACK) { if (ack != iss(s) + 1) {
    emit(s, Flag.RST, ack, 0, 0); // unacceptable ACK (RFC 9293: <SEQ=SEG.ACK><CTL=RST>)
    return;
  } }
  if (paws) { bump(Stat.PawsRejected); emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0); return; }
  if (!(fl & Flag.ACK)) return;
  takeTsRecent(s, seq);
  const server = hasFlag(s, F_SERVER);
  const l = sndEnd(s); // a server child's listener (passiveOpen)
  if (server) { const q = acceptQueued(l); if (q != 0) { if (q > maxAckBacklog(l)) { listenOverflow(s); return; } } }
  setSndUna(s, ack);
  establish(s, State.SYN_RCVD);
  if (fl & Flag.SYN) setFlag(s, F_ACK_NOW); // simultaneous open: the peer's SYN-ACK wants an ACK
  let queued = false;
  if (server) { if (acceptInterval(l) != 0) { enqueueChild(l, s); queued = true; } }
  if (!queued) appEstablished(s);
  if (state(s) == State.CLOSED) return;
  if ((len | (fl & Flag.FIN)) != 0) synchronized(s, fl, seq, ack, len); // data or a FIN, in one test
  else flush(s, false);
}

/**
 * The handshake's last ACK found the accept queue full (Linux tcp_check_req, listen_overflow):
 * the ACK is dropped and the child keeps retransmitting its SYN-ACK (req->acked), or with
 * tcp_abort_on_overflow the child is reset.
 */
function listenOverflow(s: u32): void {
  bump(Stat.ListenOverflows); bump(Stat.ListenDrops);
  if (param(s, HostParam.AbortOnOverflow) == 0) return;
  emit(s, Flag.RST, iss(s) + 1, 0, 0); // tcp_v4_send_reset of an ACK: <SEQ=SEG.ACK><CTL=RST>
  destroyToListen(s);
}

/**
 * TIME_WAIT, as Linux's tcp_timewait_state_process (RFC 9293 3.10.7.4 with RFC 1122's
 * reopening by a new SYN, RFC 6191's by a newer timestamp). Returns the ISN of the
 * connection a new SYN reopens (tw_snd_nxt + 65537, never 0), after the socket has been
 * destroyed; 0 when the segment was handled here.
 */
function timeWait(s: u32, fl: u32, seq: u32, len: u32): u32 {
  const nxt = rcvNxt(s);
  // PAWS (tcp_paws_reject; a RST too, as its TS.Recent is under TCP_PAWS_MSL old).
  const paws = pawsOld(s);
  // Only a RST or a bare ACK exactly at RCV.NXT is in window: the RST kills TIME_WAIT
  // (tcp_rfc1337 = 0), the ACK restarts it unanswered.
  if (!paws) { if (seq == nxt) {
    if (fl & Flag.RST) { destroy(s); return 0; }
    if ((len | (fl & (Flag.SYN | Flag.FIN))) == 0) { armTimeWait(s); if (rxTs) setTsRecent(s, rxTsval); return 0; }
  } }
  if (paws) bump(Stat.PawsRejected);
  if (fl & Flag.RST) return 0; // any other RST is dropped
  if ((fl & (Flag.SYN | Flag.ACK)) == Flag.SYN) { // one test for SYN without ACK
    // A SYN after the old connection (its sequence number, or with timestamps its TSval:
    // RFC 6191) reopens it through a listener (TCP_TW_SYN); without one, or an older SYN,
    // it is ACKed as any other segment, the timer left running unless PAWS refused it.
    if (!paws) { if (seqGt(seq, nxt) || (rxTs && <i32>(tsRecent(s) - rxTsval) < 0)) { if (findListener(laddr(s), lport(s)) >= 0) {
      const i = sndNxt(s) + 65537;
      destroy(s);
      return i != 0 ? i : 1;
    } } }
    if (paws) armTimeWait(s);
    emit(s, Flag.ACK, sndNxt(s), nxt, 0);
    return 0;
  }
  // Anything else (the peer's FIN again, an old SYN-ACK, data) is ACKed; one with ACK set,
  // or refused by PAWS, restarts 2MSL.
  if ((fl & Flag.ACK) != 0 || paws) armTimeWait(s);
  emit(s, Flag.ACK, sndNxt(s), nxt, 0);
  return 0;
}

/**
 * A RST's sequence check (RFC 9293 3.10.7.4, RFC 5961 3.2): it counts only at exactly
 * RCV.NXT; elsewhere in the window it draws a challenge ACK, outside it is dropped.
 */
function rstAccepted(s: u32, seq: u32): bool {
  const nxt = rcvNxt(s);
  if (seq == nxt) return true;
  if (seq - nxt < RCV_WND) emit(s, Flag.ACK, sndNxt(s), nxt, 0);
  return false;
}

/**
 * PAWS in a synchronized state (RFC 7323 5.3, Linux tcp_validate_incoming): a segment
 * whose TSval is more than one tick older than TS.Recent (TCP_PAWS_WINDOW) is dropped.
 * A RST or a SYN goes on to its own checks; an old pure ACK below RCV.NXT is dropped
 * silently (PAWS_OLD_ACK); a duplicate ACK at RCV.NXT within the replay window, 1.2 RTO
 * of ticks (tcp_disordered_ack_check), is let through; anything else is answered with
 * an ACK (tcp_send_dupack). Returns true when the segment was dropped. (Called when
 * the TSval is that old: synchronized tests it inline, so a segment in order costs no call.)
 */
function pawsDrops(s: u32, fl: u32, seq: u32, ack: u32, len: u32, age: u32): bool {
  if ((fl & (Flag.RST | Flag.SYN)) != 0) return false;
  if ((fl & Flag.ACK) != 0 && (len | (fl & Flag.FIN)) == 0) { // a pure ACK
    if (seqLt(seq, rcvNxt(s))) { bump(Stat.PawsRejected); return true; }
    if (seq == rcvNxt(s)) { if (ack == sndUna(s)) { if (age <= rtoMs(s) * 6 / 5) return false; } }
  }
  bump(Stat.PawsRejected);
  emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0);
  return true;
}

/**
 * The answer to an ACK outside the window: an ACK; on a twoWayHandshake server, SYN_RCVD's
 * RST (it has no SYN_RCVD, and an ACK would answer a TIME_WAIT's ACK for ever).
 */
function unacceptableAck(s: u32, ack: u32): void {
  if (hasFlag(s, F_SERVER)) { if (param(s, HostParam.Variant) & Variant.TwoWayHandshake) { emit(s, Flag.RST, ack, 0, 0); return; } }
  emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0);
}

/** ESTABLISHED, FIN_WAIT_1/2, CLOSE_WAIT, CLOSING, LAST_ACK. */
function synchronized(s: u32, fl: u32, seq: u32, ack: u32, len: u32): void {
  if (rxTs) {
    const recent = tsRecent(s);
    const age = recent - rxTsval;
    // tcp_paws_check with TCP_PAWS_WINDOW 1 (a TS.Recent of 0 lets everything in). (Nested: binaryen's selects.)
    if (<i32>age > 1) { if (recent != 0) { if (pawsDrops(s, fl, seq, ack, len, age)) return; } }
  }
  if (fl & Flag.RST) {
    if (rstAccepted(s, seq)) {
      const st = state(s);
      if (st == State.LAST_ACK || st == State.CLOSE_WAIT) whyBump(Stat.PassiveResets);
      fail(s, Errno.ECONNRESET);
    }
    return;
  }
  if (fl & Flag.SYN) { emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0); return; } // RFC 5961 challenge ACK
  if (!(fl & Flag.ACK)) return;
  // RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (one unsigned test), else an
  // ACK of data never sent (RFC 9293: ACK it) or older than the peer's window could make
  // (challenge ACK): answered, and the segment dropped.
  const low = sndUna(s) - RCV_WND;
  if (ack - low > sndNxt(s) - low) { unacceptableAck(s, ack); return; }
  takeTsRecent(s, seq);

  // The ACK field (at most SND.NXT, checked above).
  if (seqGt(ack, sndUna(s))) {
    setSndUna(s, ack);
    setRetries(s, 0);
    if (ack == sndNxt(s)) cancelTimer(s);
    else armTimer(s, rto(s));
  }
  let finAcked = false;
  if (hasFlag(s, F_FIN_QUEUED)) {
    if (sndUna(s) == sndEnd(s) + 1) finAcked = sndNxt(s) == sndUna(s);
  }

  // The text and the FIN: in order only.
  let received: u32 = 0;  // bytes newly delivered to the application
  let total: u32 = 0;     // all data bytes received so far
  let finNow = false;
  let ackWay = ACK_AT_END;
  if ((len | (fl & Flag.FIN)) != 0) { // data or a FIN, in one test
    const nxt = rcvNxt(s);
    const delayed = delayedAcks(s);
    if (!hasFlag(s, F_ACK_NOW)) { setFlag(s, F_ACK_NOW); if (delayed) ackOwed(s, nxt); }
    const end = seq + len;
    if (seqLe(seq, nxt)) {
      if (seqGe(end, nxt)) {
        received = end - nxt;
        total = end - irs(s) - 1;
        finNow = (fl & Flag.FIN) != 0;
        setRcvNxt(s, end + (finNow ? 1 : 0));
        if (rxConn != conn(s)) { if ((received != 0) || finNow) whyBump(Stat.StaleAccepted); } // an old incarnation's bytes
      }
    }
    if (delayed) {
      if ((received != 0) || finNow) {
        if (received != 0) dataReceived(s, received, rto(s));
        ackWay = ACK_DECIDE;
      } else {
        if (seqLt(seq, nxt)) quickAckMode(s, len); // an old duplicate: quick-ack mode, ACK at once
        ackWay = ACK_AT_ONCE;                      // (out of order: a duplicate ACK at once)
      }
    }
  }

  // Transitions, all before the application sees anything of this segment.
  const st = state(s);
  if (finAcked) {
    if (st == State.FIN_WAIT_1) {
      if (finNow) { deliver(s, received, total); enterTimeWait(s, true, State.FIN_WAIT_1); return; } // FIN+ACK: straight to TIME_WAIT
      if (param(s, HostParam.Variant) & Variant.ThreeWayClose) { deliver(s, received, total); closeAtFinAck(s); return; }
      move(s, State.FIN_WAIT_1, State.FIN_WAIT_2, State.FIN_WAIT_1);
      finWait2Timer(s);
    } else if (st == State.CLOSING) {
      enterTimeWait(s, false, State.CLOSING);
      return;
    } else if (st == State.LAST_ACK) {
      destroyFrom(s, State.LAST_ACK);
      return;
    }
  }
  if (finNow) {
    const cur = state(s);
    if (cur == State.ESTABLISHED) {
      move(s, State.ESTABLISHED, State.CLOSE_WAIT, State.ESTABLISHED);
      if (ackWay != ACK_AT_END) enterPingpong(s); // tcp_fin: the answer to a FIN is interactive
    } else if (cur == State.FIN_WAIT_1) {
      move(s, State.FIN_WAIT_1, State.CLOSING, State.FIN_WAIT_1);
      if (ackWay != ACK_AT_END) ackWay = ACK_AT_ONCE; // simultaneous close: tcp_fin ACKs at once
    } else if (cur == State.FIN_WAIT_2) { deliver(s, received, total); enterTimeWait(s, true, State.FIN_WAIT_2); return; }
  }

  // With delayed ACKs, what the kernel does before the application wakes: ACK at once,
  // or when the application's read will (tcp_cleanup_rbuf), or leave it to the timer.
  if (ackWay == ACK_DECIDE) {
    if (ackAtOnce(s, rcvNxt(s), len)) ackWay = ACK_AT_ONCE;
    else if (ackDueSoon(s, pathRtt(s))) ackWay = ACK_AT_ONCE;
    else if (received != 0) { if (reads(s)) { if (ackOnRead(s)) ackWay = ACK_AT_ONCE; } }
  }
  if (ackWay == ACK_AT_ONCE) { stopDelayedAck(s); flush(s, false); }

  // Then the application reads what arrived and may answer or close.
  deliver(s, received, total);
  if (finNow) { if (state(s) != State.CLOSED) appEof(s); }
  flush(s, ackWay == ACK_DECIDE);
}

/** threeWayClose: the FIN is ACKed, and the closer forgets the connection without waiting for the peer's FIN. */
function closeAtFinAck(s: u32): void {
  if (state(s) != State.FIN_WAIT_1) return; // (the data just delivered ended it)
  if (!hasFlag(s, F_DONE | F_ERROR)) whyBump(Stat.ClosedEarly);
  destroyFrom(s, State.FIN_WAIT_1);
}

// How synchronized() sends the ACK a segment with data or a FIN is owed.
const ACK_AT_END: u32 = 0;  // no delayed ACKs: after the application's answer, riding on it if it sends any
const ACK_DECIDE: u32 = 1;  // delayed ACKs, in order: at once, or when nothing carried it, the delayed-ACK timer
const ACK_AT_ONCE: u32 = 2; // delayed ACKs: before the application wakes

/** Whether the application reads what arrives now (a server child not yet accept()ed does not, nor one whose exchange is done). */
@inline function reads(s: u32): bool {
  if (hasFlag(s, F_DONE)) return false;
  return !hasFlag(s, F_SERVER) || tries(s) == 0;
}
/** The ACK goes now: a running delayed-ACK timer is stopped (acked() would stop it too). */
function stopDelayedAck(s: u32): void {
  const e = sockets.dackEvent(s);
  if (e != 0) cancelDue(e);
}

/** The delayed-ACK timer fired (tcp_delack_timer_handler); its event is released. */
export function dackFires(s: u32): void {
  sockets.setDackEvent(s, 0);
  if (!hasFlag(s, F_ACK_NOW)) return;
  dackMissed(s, rto(s));
  sendAck(s);
}

/** A server application's close() `ServerCloseDelay` after it read EOF (apps.ts closeDue checks the socket is still that connection's). */
export function closeNow(s: u32): void {
  appClose(s, false);
  flush(s, false);
}

/** Hands newly arrived bytes to the application: `total` is all data received so far. */
@inline function deliver(s: u32, received: u32, total: u32): void {
  if (received > 0) appReceived(s, total);
}

@inline function seqGe(a: u32, b: u32): bool { return <i32>(a - b) >= 0; }

// ---- timers -------------------------------------------------------------------------

/** The socket's timer fired (its event is released: the socket has none filed now). */
export function timerFires(s: u32): void {
  setTimerEvent(s, 0);
  if (hasFlag(s, F_UDP)) { udpTimeout(s); return; }
  const st = state(s);
  if (st == State.TIME_WAIT) { destroyFrom(s, State.TIME_WAIT); return; }
  if (st == State.FIN_WAIT_2) { destroy(s); return; }
  if (st == State.SYN_RCVD) {
    const server = hasFlag(s, F_SERVER);
    if (retries(s) >= (server ? param(s, HostParam.SynackRetries) : param(s, HostParam.SynRetries))) {
      if (server) destroy(s); else fail(s, Errno.ETIMEDOUT);
      return;
    }
    setRetries(s, retries(s) + 1);
    retransmitting = true;
    sendSynAck(s);
    retransmitting = false;
    armTimer(s, rto(s));
    return;
  }
  if (st == State.SYN_SENT) { synTimer(s); return; }
  // Data or FIN unacknowledged.
  // tcp_orphan_retries is for orphans (closed by the application), not a half-closed socket still reading.
  const isOrphan = (sockets.flags(s) & (F_FIN_QUEUED | F_SHUT_WR)) == F_FIN_QUEUED;
  const limit = isOrphan ? param(s, HostParam.OrphanRetries) : param(s, HostParam.Retries2);
  if (retries(s) >= limit) { fail(s, Errno.ETIMEDOUT); return; }
  if (st == State.LAST_ACK) whyBump(Stat.LastAckRetries);
  setRetries(s, retries(s) + 1);
  setSndNxt(s, sndUna(s)); // go-back-N: the whole window again
  retransmitting = true;
  output(s);
  retransmitting = false;
}

/**
 * SYN_SENT's timer (Linux tcp_write_timeout, tcp_retransmit_timer): the first
 * tcp_syn_linear_timeouts retransmissions keep rto_init, later ones back off; connect()
 * fails after syn_retries + linear_timeouts retransmissions, or once the time since the
 * first SYN reaches tcp_model_timeout(syn_retries) (retransmits_timed_out).
 */
function synTimer(s: u32): void {
  const r = retries(s);
  const lin = param(s, HostParam.SynLinearTimeouts);
  const n = param(s, HostParam.SynRetries);
  if (r >= n + lin || (r > 0 && <u32>(now / 1000) - irs(s) >= modelTimeoutMs(s, n))) { fail(s, Errno.ETIMEDOUT); return; }
  setRetries(s, r + 1);
  retransmitting = true;
  sendSyn(s);
  retransmitting = false;
  armTimer(s, backoff(s, r + 1 > lin ? r + 1 - lin : 0));
}
/** tcp_model_timeout: the time `boundary` exponential retransmissions from rto_init take, rto_max capping them, ms. */
function modelTimeoutMs(s: u32, boundary: u32): u32 {
  const base = <u64>(param(s, HostParam.RtoInit) / 1000);
  const cap = <u64>(param(s, HostParam.RtoMax) / 1000);
  if (base == 0) return 0;
  const thresh = <u32>(63 - clz(max<u64>(cap / base, 1))); // ilog2(TCP_RTO_MAX / rto_base)
  if (boundary <= thresh) return <u32>(((<u64>2 << boundary) - 1) * base);
  return <u32>(((<u64>2 << thresh) - 1) * base + <u64>(boundary - thresh) * cap);
}

// ---- a server process that stops and starts again ------------------------------------

/** Files each listener's stop and (re)start; called once when the run begins. */
export function listenersStart(): void {
  for (let l: u32 = 0; l < nListeners; l++) {
    const h = ipHost(listenerIp(l));
    if (hostRemote(h)) continue;
    actAs(h);
    if (listenerStopAt(l) > 0) schedule(listenerStopAt(l), EV_LISTENER, l, LISTENER_STOP);
    if (listenerStartAt(l) > 0) schedule(listenerStartAt(l), EV_LISTENER, l, LISTENER_BIND);
  }
}

export function listenerEvent(l: u32, what: u32): void {
  if (what == LISTENER_STOP) serverStops(l); else if (what == LISTENER_BIND) listenerBind(l); else acceptDue(l);
}

/**
 * The server process exits: the kernel closes its sockets. Requests not yet accepted
 * (SYN_RCVD) are dropped; every accepted connection on the port is closed (FIN after
 * any queued data) and so goes through the active close to TIME_WAIT on the server.
 * One scan of the socket table, once per stop; the sockets are closed in the order of
 * their connection ids, not of their slots: slots are shared by every host group in
 * an instance, and the order of the FINs feeds the link's loss draws, so a shard must
 * close them in the order the whole run does.
 */
function serverStops(l: u32): void {
  if (!listenerBound(l)) return;
  const ip = listenerIp(l);
  const port = listenerPort(l);
  const n = sockets.slotsUsed();
  let k: u32 = 0;
  for (let s: u32 = 0; s < n; s++) {
    const st = state(s);
    if (st == State.CLOSED || st == State.LISTEN || !hasFlag(s, F_SERVER) || ipIdx(s) != ip || lport(s) != port) continue;
    if (k == stopCap) { stopCap = max(stopCap << 1, 1024); STOPS = regrow(STOPS, <usize>k << 3, <usize>stopCap << 3); }
    store<u64>(STOPS + (<usize>k << 3), <u64>conn(s) << 32 | <u64>s); // one socket per connection id on a port
    k++;
  }
  sortU64(STOPS, k);
  for (let i: u32 = 0; i < k; i++) {
    const s = <u32>load<u64>(STOPS + (<usize>i << 3));
    if (state(s) == State.SYN_RCVD) { destroy(s); continue; }
    // Not yet accepted: reset (Linux inet_csk_listen_stop -> tcp_disconnect).
    if (tries(s) != 0) { emit(s, Flag.RST | Flag.ACK, sndNxt(s), rcvNxt(s), 0); destroy(s); continue; }
    if (hasFlag(s, F_FIN_QUEUED)) continue; // already closing
    appClose(s, false);
    flush(s, false);
  }
  unbindListener(l);
}
let STOPS: usize = 0;  // u64 [socket] conn << 32 | slot, serverStops' scratch
let stopCap: u32 = 0;

/** Sorts n u64s at p, ascending (heapsort: in place, no allocation). */
function sortU64(p: usize, n: u32): void {
  for (let i = n >> 1; i > 0; i--) siftDown(p, i - 1, n);
  for (let end = n; end > 1; end--) {
    const top = load<u64>(p);
    store<u64>(p, load<u64>(p + (<usize>(end - 1) << 3)));
    store<u64>(p + (<usize>(end - 1) << 3), top);
    siftDown(p, 0, end - 1);
  }
}
function siftDown(p: usize, i: u32, n: u32): void {
  const v = load<u64>(p + (<usize>i << 3));
  while (true) {
    let c: u32 = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && load<u64>(p + (<usize>(c + 1) << 3)) > load<u64>(p + (<usize>c << 3))) c++;
    const cv = load<u64>(p + (<usize>c << 3));
    if (cv <= v) break;
    store<u64>(p + (<usize>i << 3), cv);
    i = c;
  }
  store<u64>(p + (<usize>i << 3), v);
}

/**
 * bind() and listen() by the (re)started server. Without SO_REUSEADDR, bind fails with
 * EADDRINUSE while any socket holds the port, TIME_WAIT included (Linux
 * inet_csk_bind_conflict); with it only another listener blocks. The server tries
 * again after the listener's retry interval, as a supervisor restarting it would.
 */
function listenerBind(l: u32): void {
  if (listenerBound(l)) return;
  const use = portUse(listenerIp(l), listenerPort(l));
  const busy = listenerUdp(l) ? udpPortHeld(listenerIp(l), listenerPort(l)) : listenerReuse(l) ? use >= LISTENER_BIT : use != 0;
  if (busy) {
    countFailure(Errno.EADDRINUSE);
    schedule(now + <u64>listenerRetry(l), EV_LISTENER, l, LISTENER_BIND);
    return;
  }
  bindListener(l);
}

export function failNoPort(): void {
  bump(Stat.ConnectFailed);
  countFailure(Errno.EADDRNOTAVAIL);
}
