// assembly/tcp.ts in TypeScript, function for function: segmentArrives by
// (state, segment), timerFires, setState as the single place of transitions, the
// same RTO rule, go-back-N window of 10 segments, ISN = secret hash + now/64ns.
// u32 arithmetic is written out: sums and differences are brought back to u32
// with `>>> 0` wherever the engine's wrap-around could matter to a comparison
// (stores into Uint32Array columns wrap by themselves).

import { Flag, HostParam, Outcome, Stat, State } from "../../assembly/abi.js";
import { actAs, cancelDue, evTime, kernelDue, now, orphan, schedule, scheduleLazy, scheduleNumbered, setDue, takeArrivalSeq, twFits, twPop, twPush, twTag, twTarget } from "./wheel.js";
import { bump, countFailure, traced, traceOpen, traceSegment, traceState } from "./metrics.js";
import {
  addHostTw, addListenerQueue, addPortTw, addStateCount, dirBad, dirFirstRule, dirLatency, dirLoss, dirP,
  dirRev, DRNG, findListener, holdPort, hostParam, hostSecretHi, hostSecretLo, hostTw, ipAddr, ipHost, acceptQueued, cookieSentAt, listenerBacklog, listenerBacklogUsed, setCookieSentAt,
  listenerIp, newSegment, putInFlight, releasePort, ruleAction, ruleDelay, ruleFires, ruleNext, setDirBad,
  bindListener, LISTENER_BIT, listenerBound, listenerPort, listenerReuse, listenerRetry, listenerStartAt,
  listenerStopAt, nListeners, portUse, unbindListener,
  freeSegment, sgAck, sgConn, sgDir, sgDport, sgDst, sgFlags, sgLen, sgSeq, sgSport, sgSrc, sgWl,
  dirTs, setSgOpts, sgOpts, sgTsval,
} from "./net.js";
import { mix4, mulhi, nextUnit } from "./rng.js";
import {
  clearFlag, conn, dir, F_DONE, F_ERROR, F_EVER_EST, F_FIN_QUEUED, F_SERVER, F_SHUT_WR, F_ACK_NOW,
  hasFlag, ipIdx, irs, iss, laddr, lookupArrival, lport, raddr, rcvNxt, retries, rport, rtoMs,
  setFlag, setIrs, setIss, setRcvNxt, setRetries, setRtoMs, setSndEnd, setSndNxt, setSndUna,
  setStateRaw, setTimerEvent, timerEvent, sndEnd, sndNxt, sndUna, state, wl, setTsRecent, tsRecent,
} from "./sockets.js";
import * as sockets from "./sockets.js";
import { appEof, appEstablished, appFailed, appReceived, outcome } from "./apps.js";
import {
  ackAtOnce, ackDelay, ackDueSoon, ackOnRead, ackOwed, ackSent, dackArmed, dackMissed, dataReceived, dataSent,
  delayedAcks, enterPingpong, quickAckMode,
} from "./delack.js";

export const EV_SEGMENT = 0;
export const EV_TIMER = 1;
export const EV_ARRIVAL = 2;
export const EV_LISTENER = 3;
const LISTENER_STOP = 0;
const LISTENER_BIND = 1;

const WINDOW_SEGMENTS = 10;
const RCV_WND = 65535;           // RCV.WND and the peer's MAX.SND.WND (RFC 5961 5.2)
const SYN_QUICK_RETRY = 8000;    // TCP_TIMEOUT_MIN: 2 jiffies; HZ 250's on a host without a hz
const ERR_EADDRNOTAVAIL = 0;
const ERR_ECONNREFUSED = 1;
const ERR_ETIMEDOUT = 2;
const ERR_ECONNRESET = 3;
const ERR_EADDRINUSE = 4;

function seqLt(a: number, b: number): boolean { return ((a - b) | 0) < 0; }
function seqLe(a: number, b: number): boolean { return ((a - b) | 0) <= 0; }
function seqGt(a: number, b: number): boolean { return ((a - b) | 0) > 0; }
function seqGe(a: number, b: number): boolean { return ((a - b) | 0) >= 0; }

export function hostOf(s: number): number { return ipHost(ipIdx(s)); }

// (The engine inlines this as move(s, from, to, tracedFrom) where the states are constants, so
// that only their books remain, and splits destroy() into destroy / destroyToListen:
// AssemblyScript calls a function with a default argument through a @varargs trampoline.)
function setState(s: number, to: number, tracedFrom = -1): void {
  const from = state(s);
  const h = hostOf(s);
  if (from !== State.CLOSED) addStateCount(h, from, -1);
  if (to !== State.CLOSED && to !== State.LISTEN) addStateCount(h, to, 1);
  if (from === State.TIME_WAIT) { addHostTw(h, -1); addPortTw(ipIdx(s), lport(s), -1); }
  if (to === State.TIME_WAIT) { addHostTw(h, 1); addPortTw(ipIdx(s), lport(s), 1); }
  if (from === State.SYN_RCVD && hasFlag(s, F_SERVER)) addListenerQueue(sndEnd(s), -1); // its listener (passiveOpen)
  if (traced(conn(s))) traceState(now, conn(s), h, tracedFrom >= 0 ? tracedFrom : from, to);
  setStateRaw(s, to);
}

function destroy(s: number, to: number = State.CLOSED): void {
  setState(s, to);
  releasePort(ipIdx(s), lport(s));
  sockets.close(s);
}

function fail(s: number, errno: number): void {
  if (!hasFlag(s, F_SERVER) && !hasFlag(s, F_DONE | F_ERROR)) {
    countFailure(errno);
    if (!hasFlag(s, F_EVER_EST)) bump(Stat.ConnectFailed);
    appFailed(s, errno);
  }
  setFlag(s, F_ERROR);
  destroy(s);
}

function isn(s: number): number {
  const h = hostOf(s);
  const kHi = hostSecretHi(h), kLo = hostSecretLo(h);
  const x = mix4(laddr(s) ^ kLo, raddr(s), (lport(s) << 16 | rport(s)) >>> 0, kHi);
  return (x + Math.floor((now * 125) / 8)) >>> 0; // ns / 64, as Linux's secure_tcp_seq clock
}

/** TSval: a millisecond clock plus a secret offset per address pair (the high word of ((la ^ kLo) << 32 | ra ^ kHi) * M1). */
function tsClock(h: number, la: number, ra: number): number {
  const a = (la ^ hostSecretLo(h)) >>> 0, b = (ra ^ hostSecretHi(h)) >>> 0;
  const off = (mulhi(b, 0x7F4A7C15) + Math.imul(b, 0x9E3779B9) + Math.imul(a, 0x7F4A7C15)) >>> 0;
  return (Math.floor(now / 1000) + off) >>> 0;
}
function tsNow(s: number): number { return tsClock(hostOf(s), laddr(s), raddr(s)); }

// The arriving segment's timestamps option (segmentArrives).
let rxTs = false;
let rxTsval = 0;
/** PAWS with no window (tcp_paws_reject): the arriving TSval is older than TS.Recent (0: none yet). */
function pawsOld(s: number): boolean {
  const recent = tsRecent(s);
  return rxTs && recent !== 0 && ((recent - rxTsval) | 0) > 0;
}
/** TS.Recent takes the arriving TSval when the segment starts at or below RCV.NXT and is not older (tcp_replace_ts_recent). */
function takeTsRecent(s: number, seq: number): void {
  if (rxTs && seqLe(seq, rcvNxt(s)) && !pawsOld(s)) setTsRecent(s, rxTsval);
}

// ---- sending ----------------------------------------------------------------------

let retransmitting = false;

export function send(d: number, sa: number, sp: number, da: number, dp: number, fl: number, seq: number, ack: number,
                     len: number, w: number, c: number, senderState: number, opts: number, tsval: number, tsecr: number): void {
  bump(Stat.SegSent);
  if (retransmitting) bump(Stat.SegRetransmitted);
  let dropped = false;
  let dupDelay = -1;
  for (let r = dirFirstRule(d); r >= 0; r = ruleNext(r)) {
    if (ruleFires(r, fl, senderState, c)) {
      if (ruleAction(r) === 0) dropped = true; else dupDelay = ruleDelay(r);
    }
  }
  if (!dropped) {
    const kind = dirLoss(d);
    if (kind === 1) {
      dropped = nextUnit(DRNG, d) < dirP(d, 0);
    } else if (kind === 2) {
      const u = nextUnit(DRNG, d);
      let bad = dirBad(d);
      bad = bad ? u >= dirP(d, 1) : u < dirP(d, 0);
      setDirBad(d, bad);
      dropped = nextUnit(DRNG, d) >= (bad ? dirP(d, 3) : dirP(d, 2));
    } else if (kind === 3) {
      throw new Error("the TypeScript kernel has no plugin hooks (assembly/hooks.ts is not ported)");
    }
  }
  // (A UDP datagram's ack field carries its client socket's slot, which is no business of a trace.)
  if (traced(c)) traceSegment(now, c, d, fl, dropped, seq, fl & Flag.UDP ? 0 : ack, len, opts, tsval, tsecr);
  if (dropped) { bump(Stat.SegDropped); return; }
  const lat = dirLatency(d);
  const g = newSegment(d, sa, sp, da, dp, fl, seq, ack, len, w, c);
  setSgOpts(g, opts, tsval, tsecr);
  putInFlight(g, d, now + lat, takeArrivalSeq());
  if (dupDelay >= 0) {
    bump(Stat.SegDuplicated);
    if (traced(c)) traceSegment(now + dupDelay, c, d, fl, false, seq, fl & Flag.UDP ? 0 : ack, len, opts, tsval, tsecr);
    const copy = newSegment(d, sa, sp, da, dp, fl, seq, ack, len, w, c);
    setSgOpts(copy, opts, tsval, tsecr);
    scheduleNumbered(now + lat + dupDelay, EV_SEGMENT, copy, 0, takeArrivalSeq());
  }
}

// (The engine calls sendFrom(s, ...) here, send's body inlined, to spare a call of twelve
// arguments and newSegment's of eleven; the JIT inlines these calls on its own.) On a
// direction with neither rules nor a loss model nothing can drop or copy the segment.
// With the timestamps option when the connection uses it, except on a RST without ACK
// (Linux's tcp_v4_send_reset for a segment carries no options).
function emit(s: number, fl: number, seq: number, ack: number, len: number): void {
  const d = dir(s);
  const ts = fl !== Flag.RST && dirTs(d);
  const opts = ts ? 1 : 0, tsval = ts ? tsNow(s) : 0, tsecr = ts ? tsRecent(s) : 0;
  if (dirLoss(d) !== 0 || dirFirstRule(d) >= 0) {
    send(d, laddr(s), lport(s), raddr(s), rport(s), fl, seq, ack, len, wl(s), conn(s), state(s), opts, tsval, tsecr);
    return;
  }
  bump(Stat.SegSent);
  if (retransmitting) bump(Stat.SegRetransmitted);
  const c = conn(s);
  const g = newSegment(d, laddr(s), lport(s), raddr(s), rport(s), fl, seq, ack, len, wl(s), c);
  setSgOpts(g, opts, tsval, tsecr);
  putInFlight(g, d, now + dirLatency(d), takeArrivalSeq());
  if (traced(c)) traceSegment(now, c, d, fl, false, seq, ack, len, opts, tsval, tsecr);
}

const POW2 = new Float64Array(32).map((_, i) => 2 ** i);

/** The current retransmission timeout with exponential backoff, in microseconds. */
function rto(s: number): number { return backoff(s, retries(s)); }
function backoff(s: number, r: number): number {
  let base = rtoMs(s) * 1000;
  const hz = hostParam(hostOf(s), HostParam.Hz);
  // Linux keeps icsk_rto in jiffies and doubles those (tcp_retransmit_timer): whole jiffies, floored so kernelDue gets them back.
  if (hz > 0) base = Math.floor(Math.ceil(base * hz / 1e6) * 1e6 / hz);
  const cap = hostParam(hostOf(s), HostParam.RtoMax);
  if (r >= 32) return cap;
  return Math.min(base * POW2[r], cap); // base < 2^26: base << r is exact as a double
}

/** One timer event per socket: a later deadline moves its due time on, an earlier one files a new event (no later than rto_min from now). */
function armTimer(s: number, delay: number): void {
  const due = kernelDue(hostParam(hostOf(s), HostParam.Hz), delay);
  const e = timerEvent(s);
  if (e !== 0) {
    if (evTime(e) < due) { setDue(e, due); return; }
    orphan(e);
  }
  const at = Math.min(due, now + hostParam(hostOf(s), HostParam.RtoMin));
  setTimerEvent(s, scheduleLazy(at, due, EV_TIMER, s, 0));
}

function cancelTimer(s: number): void {
  const e = timerEvent(s);
  if (e !== 0) cancelDue(e);
}

function output(s: number): void {
  const mss = hostParam(hostOf(s), HostParam.Mss);
  const win = (mss * WINDOW_SEGMENTS) >>> 0;
  const end = sndEnd(s);
  const finQueued = hasFlag(s, F_FIN_QUEUED);
  let nxt = sndNxt(s);
  let sent = false;
  let data = false;
  const wasIdle = sndUna(s) === nxt;
  while (true) {
    if (seqLt(nxt, end)) {
      if (((nxt - sndUna(s)) >>> 0) >= win) break;
      data = true;
      const len = Math.min(mss, (end - nxt) >>> 0);
      const last = ((nxt + len) >>> 0) === end;
      let fl = Flag.ACK;
      if (last) fl |= Flag.PSH;
      if (last && finQueued) fl |= Flag.FIN;
      emit(s, fl, nxt, rcvNxt(s), len);
      nxt = (nxt + len + (fl & Flag.FIN ? 1 : 0)) >>> 0;
      sent = true;
    } else if (finQueued && nxt === end) {
      emit(s, Flag.FIN | Flag.ACK, nxt, rcvNxt(s), 0);
      nxt = (nxt + 1) >>> 0;
      sent = true;
    } else break;
  }
  setSndNxt(s, nxt);
  if (sent) {
    if (hasFlag(s, F_ACK_NOW)) acked(s);
    if (data && delayedAcks(s)) dataSent(s);
    if (wasIdle || retransmitting) armTimer(s, rto(s));
  }
}

/** An owed ACK nothing carried waits for the delayed-ACK timer when `delay`, or when that timer runs. */
function flush(s: number, delay: boolean): void {
  if (state(s) === State.CLOSED) return;
  output(s);
  if (hasFlag(s, F_ACK_NOW)) {
    if (delay) ackDelay(s, pathRtt(s));
    else if (!dackArmed(s)) sendAck(s);
  }
}
function sendAck(s: number): void {
  emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0);
  acked(s);
}
function acked(s: number): void {
  clearFlag(s, F_ACK_NOW);
  if (delayedAcks(s)) ackSent(s);
}
function pathRtt(s: number): number {
  const d = dir(s);
  return dirLatency(d) + dirLatency(dirRev(d));
}

function sendSyn(s: number): void {
  emit(s, Flag.SYN, iss(s), 0, 0);
}
function sendSynAck(s: number): void {
  emit(s, Flag.SYN | Flag.ACK, iss(s), rcvNxt(s), 0);
}

// ---- opening ------------------------------------------------------------------------

export function activeOpen(ip: number, port: number, da: number, dp: number, d: number, w: number, id: number): number {
  const s = sockets.open(ipAddr(ip), port, da, dp, ip, w, d, id);
  holdPort(ip, port, 1);
  let i = isn(s);
  if (inheritIsn !== 0) { i = inheritIsn; setTsRecent(s, inheritTsRecent); inheritIsn = 0; } // the TIME_WAIT just taken over
  setIss(s, i); setSndUna(s, i); setSndNxt(s, i + 1); setSndEnd(s, i + 1);
  setRtoMs(s, Math.floor(hostParam(hostOf(s), HostParam.RtoInit) / 1000));
  if (traced(id)) traceOpen(now, id, hostOf(s), ipAddr(ip), port, da, dp);
  setIrs(s, Math.floor(now / 1000)); // the first SYN's time, ms, until the SYN-ACK
  setState(s, State.SYN_SENT);
  sendSyn(s);
  armTimer(s, rto(s));
  return s;
}

function passiveOpen(l: number, d: number, sa: number, sp: number, da: number, dp: number, seq: number, w: number, c: number, twIsn: number): void {
  const ip = listenerIp(l);
  const h = ipHost(ip);
  const cookies = hostParam(h, HostParam.Syncookies);
  const qlen = listenerBacklogUsed(l);
  const most = maxAckBacklog(l);
  let cookie = cookies === 2;
  if (qlen >= most) {
    if (cookies === 0) { bump(Stat.ListenDrops); return; }
    cookie = true;
  }
  if (acceptQueued(l) > most) { bump(Stat.ListenOverflows); bump(Stat.ListenDrops); return; }
  if (cookie) { sendCookie(l, d, sa, sp, da, dp, seq, w, c); return; }
  if (cookies === 0) {
    const msb = hostParam(h, HostParam.MaxSynBacklog);
    if (qlen > msb - (msb >>> 2)) { bump(Stat.ListenDrops); return; }
  }
  newChild(l, d, sa, sp, da, dp, seq, w, c, twIsn);
}
function maxAckBacklog(l: number): number { return Math.min(listenerBacklog(l), hostParam(ipHost(listenerIp(l)), HostParam.Somaxconn)); }

function newChild(l: number, d: number, sa: number, sp: number, da: number, dp: number, seq: number, w: number, c: number, twIsn: number): number {
  const ip = listenerIp(l);
  const s = sockets.open(da, dp, sa, sp, ip, w, dirRev(d), c);
  holdPort(ip, dp, 1);
  setFlag(s, F_SERVER);
  addListenerQueue(l, 1);
  setIrs(s, seq); setRcvNxt(s, seq + 1);
  if (rxTs) setTsRecent(s, rxTsval);
  const i = twIsn !== 0 ? twIsn : isn(s);
  setIss(s, i); setSndUna(s, i); setSndNxt(s, i + 1); setSndEnd(s, l); // SND.END holds the listener until established
  setRtoMs(s, Math.floor(hostParam(hostOf(s), HostParam.RtoInit) / 1000));
  setState(s, State.SYN_RCVD, State.LISTEN);
  sendSynAck(s);
  armTimer(s, rto(s));
  return s;
}

function cookieHash(h: number, la: number, lp: number, ra: number, rp: number, salt: number): number {
  return mix4((la ^ hostSecretHi(h)) >>> 0, (ra ^ salt) >>> 0, (lp << 16 | rp) >>> 0, (hostSecretLo(h) ^ 0x5C0011E5) >>> 0);
}
function cookieCount(): number { return Math.floor(now / 60000000) >>> 0; }
function sendCookie(l: number, d: number, sa: number, sp: number, da: number, dp: number, seq: number, w: number, c: number): void {
  const h = ipHost(listenerIp(l));
  const n = cookieCount();
  const isnc = (cookieHash(h, da, dp, sa, sp, 0) + seq + ((n << 24) >>> 0) + ((cookieHash(h, da, dp, sa, sp, (n + 1) >>> 0) & 0xFFFFFF) >>> 0)) >>> 0;
  bump(Stat.SyncookiesSent);
  setCookieSentAt(l, now + 1);
  const ts = rxTs && dirTs(d);
  send(dirRev(d), da, dp, sa, sp, Flag.SYN | Flag.ACK, isnc, (seq + 1) >>> 0, 0, w, c, State.LISTEN,
    ts ? 1 : 0, ts ? tsClock(h, da, sa) : 0, ts ? rxTsval : 0);
}
function cookieAck(l: number, d: number, sa: number, sp: number, da: number, dp: number, fl: number, seq: number, ack: number, len: number, w: number, c: number): boolean {
  const at = cookieSentAt(l);
  if (at === 0 || now + 1 - at > 120000000) return false;
  const h = ipHost(listenerIp(l));
  const t = (ack - 1 - (seq - 1) - cookieHash(h, da, dp, sa, sp, 0)) >>> 0;
  const age = (cookieCount() - (t >>> 24)) & 0xFF;
  const n = (cookieCount() - age) >>> 0;
  if (age >= 2 || ((t - cookieHash(h, da, dp, sa, sp, (n + 1) >>> 0)) & 0xFFFFFF) !== 0) { bump(Stat.SyncookiesFailed); return false; }
  bump(Stat.SyncookiesRecv);
  if (acceptQueued(l) > maxAckBacklog(l)) { bump(Stat.ListenOverflows); bump(Stat.ListenDrops); return true; }
  const ip = listenerIp(l);
  const s = sockets.open(da, dp, sa, sp, ip, w, dirRev(d), c);
  holdPort(ip, dp, 1);
  setFlag(s, F_SERVER);
  addListenerQueue(l, 1);
  setIrs(s, (seq - 1) >>> 0); setRcvNxt(s, seq);
  if (rxTs) setTsRecent(s, rxTsval);
  setIss(s, (ack - 1) >>> 0); setSndUna(s, (ack - 1) >>> 0); setSndNxt(s, ack); setSndEnd(s, l);
  setRtoMs(s, Math.floor(hostParam(hostOf(s), HostParam.RtoInit) / 1000));
  setState(s, State.SYN_RCVD, State.LISTEN);
  synRcvd(s, fl, seq, ack, len);
  return true;
}

function establish(s: number): void {
  const d = dir(s);
  const rtt = (dirLatency(d) + dirLatency(dirRev(d))) >>> 0;
  const h = hostOf(s);
  let r: number;
  if (retries(s) === 0) r = (rtt + Math.max((2 * rtt) >>> 0, hostParam(h, HostParam.RtoMin))) >>> 0;
  else r = 3000000;
  r = Math.min(r, hostParam(h, HostParam.RtoMax));
  setRtoMs(s, Math.floor(((r + 999) >>> 0) / 1000));
  setRetries(s, 0);
  cancelTimer(s);
  setState(s, State.ESTABLISHED);
  if (!hasFlag(s, F_EVER_EST)) {
    setFlag(s, F_EVER_EST);
    if (!hasFlag(s, F_SERVER)) { bump(Stat.Established); outcome(wl(s), Outcome.Established); }
  }
}

// ---- closing ------------------------------------------------------------------------

export function appClose(s: number, linger0: boolean): void {
  if (hasFlag(s, F_FIN_QUEUED)) { if (hasFlag(s, F_SHUT_WR)) orphaned(s); return; }
  if (linger0) {
    clearFlag(s, F_ACK_NOW);
    flush(s, false); // what write() handed over went out already; the RST follows it
    emit(s, Flag.RST | Flag.ACK, sndNxt(s), rcvNxt(s), 0);
    destroy(s);
    return;
  }
  setFlag(s, F_FIN_QUEUED);
  const st = state(s);
  if (st === State.ESTABLISHED) setState(s, State.FIN_WAIT_1);
  else if (st === State.CLOSE_WAIT) setState(s, State.LAST_ACK);
}

export function appShutdown(s: number): void {
  appClose(s, false);
  setFlag(s, F_SHUT_WR);
}
function orphaned(s: number): void {
  clearFlag(s, F_SHUT_WR);
  if (state(s) === State.FIN_WAIT_2) finWait2Timer(s);
}
function finWait2Timer(s: number): void {
  const ft = hostParam(hostOf(s), HostParam.FinTimeout);
  if (ft > 0 && !hasFlag(s, F_SHUT_WR)) armTimer(s, ft); else cancelTimer(s);
}

function enterTimeWait(s: number, ackFin: boolean): void {
  const h = hostOf(s);
  const overflow = hostTw(h) >= hostParam(h, HostParam.MaxTwBuckets);
  if (!overflow) setState(s, State.TIME_WAIT);
  if (ackFin) emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0);
  if (hasFlag(s, F_ACK_NOW)) acked(s);
  if (overflow) { bump(Stat.TwOverflow); destroy(s); return; }
  setSndEnd(s, Math.floor(now / 1000));
  armTimeWait(s);
}

/** TIME_WAIT's timer: an entry in the FIFO beside the wheel when the host's TimeWait is its length; the tag goes in IRS. */
function armTimeWait(s: number): void {
  const d = hostParam(hostOf(s), HostParam.TimeWait);
  const hz = hostParam(hostOf(s), HostParam.Hz);
  const h = hostOf(s);
  if (!twFits(h, d, hz)) { armTimer(s, d); return; }
  const e = timerEvent(s);
  if (e !== 0) { orphan(e); setTimerEvent(s, 0); }
  setIrs(s, twPush(h, s, kernelDue(hz, d)));
}

/** Host h's TIME_WAIT FIFO's first entry is due (the first lane): its socket closes, unless the entry is stale; whether it was live. */
export function twDue(h: number): boolean {
  const s = twTarget(h);
  const tag = twTag(h);
  twPop(h);
  if (state(s) !== State.TIME_WAIT || irs(s) !== tag) return false;
  if (hostOf(s) !== h) return false; // the slot went to another host's connection (tags are per host)
  destroy(s); // what timerFires does in TIME_WAIT (the socket has no wheel event)
  return true;
}

/** tw_reuse, only for a TIME_WAIT whose connection used timestamps (tcp_twsk_unique). */
export function twReusable(s: number): boolean {
  return twReuseApplies(hostOf(s), laddr(s), raddr(s)) && dirTs(dir(s)) && ((Math.floor(now / 1000) - sndEnd(s)) >>> 0) >= Math.floor(hostParam(hostOf(s), HostParam.TwReuseDelay) / 1000);
}
/** tcp_tw_reuse: 1 on, 2 loopback only (Linux's default); never without timestamps. */
export function twReuseApplies(h: number, la: number, ra: number): boolean {
  if (hostParam(h, HostParam.Timestamps) === 0) return false;
  const mode = hostParam(h, HostParam.TwReuse);
  return mode === 1 || (mode === 2 && la >>> 24 === 127 && ra >>> 24 === 127);
}
let inheritIsn = 0;
let inheritTsRecent = 0;
/** tw_reuse takes over TIME_WAIT s: the next connect() starts at tw_snd_nxt + 65537 with the old TS.Recent. */
export function takeOverTimeWait(s: number): void {
  const i = (sndNxt(s) + 65537) >>> 0;
  inheritIsn = i !== 0 ? i : 1;
  inheritTsRecent = tsRecent(s);
  destroy(s);
}

// ---- arrivals -------------------------------------------------------------------------

/** Segment g arrives at its destination address: its record is read whole and freed first. */
export function segmentArrives(g: number): void {
  const d = sgDir(g);
  const sa = sgSrc(g); const sp = sgSport(g); const da = sgDst(g); const dp = sgDport(g);
  const fl = sgFlags(g); const seq = sgSeq(g); const ack = sgAck(g); const len = sgLen(g);
  const w = sgWl(g); const c = sgConn(g);
  rxTs = sgOpts(g) !== 0; rxTsval = sgTsval(g);
  freeSegment(g);
  const found = lookupArrival(da, dp, sa, sp, c, d);
  let twIsn = 0;
  if (found >= 0) {
    const s = found;
    const st = state(s);
    if (st === State.SYN_SENT) { synSent(s, fl, seq, ack); return; }
    if (st === State.SYN_RCVD) { synRcvd(s, fl, seq, ack, len); return; }
    if (st === State.TIME_WAIT) {
      twIsn = timeWait(s, fl, seq, len);
      if (twIsn === 0) return;
    } else {
      synchronized(s, fl, seq, ack, len);
      return;
    }
  }
  const ctl = fl & (Flag.SYN | Flag.ACK | Flag.RST);
  if (ctl === Flag.SYN) {
    const l = findListener(da, dp);
    if (l >= 0) { passiveOpen(l, d, sa, sp, da, dp, seq, w, c, twIsn); return; }
  } else if (ctl === Flag.ACK) {
    const l = findListener(da, dp);
    if (l >= 0) { if (cookieAck(l, d, sa, sp, da, dp, fl, seq, ack, len, w, c)) return; }
  }
  if (fl & Flag.RST) return;
  const back = dirRev(d);
  if (fl & Flag.ACK) {
    send(back, da, dp, sa, sp, Flag.RST, ack, 0, 0, w, c, State.CLOSED, 0, 0, 0);
  } else {
    const segLen = len + (fl & Flag.SYN ? 1 : 0) + (fl & Flag.FIN ? 1 : 0);
    send(back, da, dp, sa, sp, Flag.RST | Flag.ACK, 0, (seq + segLen) >>> 0, 0, w, c, State.CLOSED, 0, 0, 0);
  }
}

function synSent(s: number, fl: number, seq: number, ack: number): void {
  const ackOk = ack === ((iss(s) + 1) >>> 0);
  if ((fl & Flag.ACK) && !ackOk) {
    if (!(fl & Flag.RST)) emit(s, Flag.RST, ack, 0, 0);
    if (retries(s) === 0) { const hz = hostParam(hostOf(s), HostParam.Hz); armTimer(s, hz > 0 ? Math.floor(2000000 / hz) : SYN_QUICK_RETRY); }
    return;
  }
  if (fl & Flag.RST) {
    if (fl & Flag.ACK) fail(s, ERR_ECONNREFUSED);
    return;
  }
  if (!(fl & Flag.SYN)) return;
  if (!(fl & Flag.ACK) && pawsOld(s)) { bump(Stat.PawsRejected); return; } // crossed SYNs against an inherited TS.Recent
  if (rxTs) setTsRecent(s, rxTsval);
  setIrs(s, seq); setRcvNxt(s, seq + 1);
  if (fl & Flag.ACK) {
    setSndUna(s, ack);
    establish(s);
    emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0);
    appEstablished(s);
    flush(s, false);
  } else {
    setState(s, State.SYN_RCVD);
    sendSynAck(s);
    armTimer(s, rto(s));
  }
}

function synRcvd(s: number, fl: number, seq: number, ack: number, len: number): void {
  const paws = pawsOld(s); // tcp_check_req
  if (fl & Flag.RST) {
    if (paws) { bump(Stat.PawsRejected); return; }
    if (!rstAccepted(s, seq)) return;
    if (hasFlag(s, F_SERVER)) destroy(s, State.LISTEN);
    else fail(s, ERR_ECONNREFUSED);
    return;
  }
  if ((fl & Flag.SYN) && !(fl & Flag.ACK) && !paws) {
    if (seq === irs(s)) { retransmitting = true; sendSynAck(s); retransmitting = false; }
    return;
  }
  if ((fl & Flag.ACK) && ack !== ((iss(s) + 1) >>> 0)) {
    emit(s, Flag.RST, ack, 0, 0);
    return;
  }
  if (paws) { bump(Stat.PawsRejected); emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0); return; }
  if (!(fl & Flag.ACK)) return;
  takeTsRecent(s, seq);
  setSndUna(s, ack);
  establish(s);
  setSndEnd(s, (iss(s) + 1) >>> 0); // a server child's held its listener
  if (fl & Flag.SYN) setFlag(s, F_ACK_NOW);
  appEstablished(s);
  if (state(s) === State.CLOSED) return;
  if (len > 0 || (fl & Flag.FIN)) synchronized(s, fl, seq, ack, len);
  else flush(s, false);
}

/** TIME_WAIT (tcp_timewait_state_process): the ISN of the connection a new SYN reopens (never 0), or 0. */
function timeWait(s: number, fl: number, seq: number, len: number): number {
  const nxt = rcvNxt(s);
  const paws = pawsOld(s);
  if (!paws && seq === nxt) {
    if (fl & Flag.RST) { destroy(s); return 0; }
    if ((len | (fl & (Flag.SYN | Flag.FIN))) === 0) { armTimeWait(s); if (rxTs) setTsRecent(s, rxTsval); return 0; }
  }
  if (paws) bump(Stat.PawsRejected);
  if (fl & Flag.RST) return 0;
  if ((fl & Flag.SYN) && !(fl & Flag.ACK)) {
    // RFC 6191: a newer TSval reopens it too.
    if (!paws && (seqGt(seq, nxt) || (rxTs && ((tsRecent(s) - rxTsval) | 0) < 0)) && findListener(laddr(s), lport(s)) >= 0) {
      const i = (sndNxt(s) + 65537) >>> 0;
      destroy(s);
      return i !== 0 ? i : 1;
    }
    if (paws) armTimeWait(s);
    emit(s, Flag.ACK, sndNxt(s), nxt, 0);
    return 0;
  }
  if ((fl & Flag.ACK) || paws) armTimeWait(s);
  emit(s, Flag.ACK, sndNxt(s), nxt, 0);
  return 0;
}

function rstAccepted(s: number, seq: number): boolean {
  const nxt = rcvNxt(s);
  if (seq === nxt) return true;
  if (((seq - nxt) >>> 0) < RCV_WND) emit(s, Flag.ACK, sndNxt(s), nxt, 0);
  return false;
}

/** PAWS in a synchronized state (tcp_validate_incoming, TCP_PAWS_WINDOW 1); true when the segment was dropped. */
function pawsDrops(s: number, fl: number, seq: number, ack: number, len: number, age: number): boolean {
  if (fl & (Flag.RST | Flag.SYN)) return false;
  if ((fl & Flag.ACK) && (len | (fl & Flag.FIN)) === 0) { // a pure ACK
    if (seqLt(seq, rcvNxt(s))) { bump(Stat.PawsRejected); return true; }
    if (seq === rcvNxt(s) && ack === sndUna(s) && age <= Math.floor(rtoMs(s) * 6 / 5)) return false;
  }
  bump(Stat.PawsRejected);
  emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0);
  return true;
}

function synchronized(s: number, fl: number, seq: number, ack: number, len: number): void {
  if (rxTs) {
    const recent = tsRecent(s);
    const age = (recent - rxTsval) >>> 0;
    if ((age | 0) > 1 && recent !== 0 && pawsDrops(s, fl, seq, ack, len, age)) return;
  }
  if (fl & Flag.RST) {
    if (rstAccepted(s, seq)) fail(s, ERR_ECONNRESET);
    return;
  }
  if (fl & Flag.SYN) { emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0); return; }
  if (!(fl & Flag.ACK)) return;
  const low = (sndUna(s) - RCV_WND) >>> 0;
  if (((ack - low) >>> 0) > ((sndNxt(s) - low) >>> 0)) { emit(s, Flag.ACK, sndNxt(s), rcvNxt(s), 0); return; }
  takeTsRecent(s, seq);

  if (seqGt(ack, sndUna(s))) {
    setSndUna(s, ack);
    setRetries(s, 0);
    if (ack === sndNxt(s)) cancelTimer(s);
    else armTimer(s, rto(s));
  }
  const finAcked = hasFlag(s, F_FIN_QUEUED) && sndUna(s) === ((sndEnd(s) + 1) >>> 0) && sndNxt(s) === sndUna(s);

  let received = 0; // bytes newly delivered to the application
  let total = 0;    // all data bytes received so far
  let finNow = false;
  let ackWay = ACK_AT_END;
  if (len > 0 || (fl & Flag.FIN)) {
    const nxt = rcvNxt(s);
    const delayed = delayedAcks(s);
    if (!hasFlag(s, F_ACK_NOW)) { setFlag(s, F_ACK_NOW); if (delayed) ackOwed(s, nxt); }
    const end = (seq + len) >>> 0;
    if (seqLe(seq, nxt) && seqGe(end, nxt)) {
      received = (end - nxt) >>> 0;
      total = (end - irs(s) - 1) >>> 0;
      finNow = (fl & Flag.FIN) !== 0;
      setRcvNxt(s, end + (finNow ? 1 : 0));
    }
    if (delayed) {
      if (received !== 0 || finNow) {
        if (received !== 0) dataReceived(s, received, rto(s));
        ackWay = ACK_DECIDE;
      } else {
        if (seqLt(seq, nxt)) quickAckMode(s, len);
        ackWay = ACK_AT_ONCE;
      }
    }
  }

  const st = state(s);
  if (finAcked) {
    if (st === State.FIN_WAIT_1) {
      if (finNow) { deliver(s, received, total); enterTimeWait(s, true); return; }
      setState(s, State.FIN_WAIT_2);
      finWait2Timer(s);
    } else if (st === State.CLOSING) {
      enterTimeWait(s, false);
      return;
    } else if (st === State.LAST_ACK) {
      destroy(s);
      return;
    }
  }
  if (finNow) {
    const cur = state(s);
    if (cur === State.ESTABLISHED) {
      setState(s, State.CLOSE_WAIT);
      if (ackWay !== ACK_AT_END) enterPingpong(s);
    } else if (cur === State.FIN_WAIT_1) {
      setState(s, State.CLOSING);
      if (ackWay !== ACK_AT_END) ackWay = ACK_AT_ONCE;
    } else if (cur === State.FIN_WAIT_2) { deliver(s, received, total); enterTimeWait(s, true); return; }
  }

  if (ackWay === ACK_DECIDE) {
    if (ackAtOnce(s, rcvNxt(s), len)) ackWay = ACK_AT_ONCE;
    else if (ackDueSoon(s, pathRtt(s))) ackWay = ACK_AT_ONCE;
    else if (received !== 0 && reads(s) && ackOnRead(s)) ackWay = ACK_AT_ONCE;
  }
  if (ackWay === ACK_AT_ONCE) { stopDelayedAck(s); flush(s, false); }

  deliver(s, received, total);
  if (finNow && state(s) !== State.CLOSED) appEof(s);
  flush(s, ackWay === ACK_DECIDE);
}

const ACK_AT_END = 0;
const ACK_DECIDE = 1;
const ACK_AT_ONCE = 2;

function reads(s: number): boolean {
  if (hasFlag(s, F_DONE)) return false;
  return !hasFlag(s, F_SERVER) || sockets.tries(s) === 0;
}
function stopDelayedAck(s: number): void {
  const e = sockets.dackEvent(s);
  if (e !== 0) cancelDue(e);
}

/** The delayed-ACK timer fired (tcp_delack_timer_handler); its event is released. */
export function dackFires(s: number): void {
  sockets.setDackEvent(s, 0);
  if (!hasFlag(s, F_ACK_NOW)) return;
  dackMissed(s, rto(s));
  sendAck(s);
}

/** Hands newly arrived bytes to the application: `total` is all data received so far. */
function deliver(s: number, received: number, total: number): void {
  if (received > 0) appReceived(s, total);
}

// ---- timers -------------------------------------------------------------------------

export function timerFires(s: number): void {
  setTimerEvent(s, 0);
  const st = state(s);
  const h = hostOf(s);
  if (st === State.TIME_WAIT || st === State.FIN_WAIT_2) { destroy(s); return; }
  if (st === State.SYN_RCVD) {
    const server = hasFlag(s, F_SERVER);
    if (retries(s) >= (server ? hostParam(h, HostParam.SynackRetries) : hostParam(h, HostParam.SynRetries))) {
      if (server) destroy(s); else fail(s, ERR_ETIMEDOUT);
      return;
    }
    setRetries(s, retries(s) + 1);
    retransmitting = true;
    sendSynAck(s);
    retransmitting = false;
    armTimer(s, rto(s));
    return;
  }
  if (st === State.SYN_SENT) { synTimer(s); return; }
  const isOrphan = (sockets.flags(s) & (F_FIN_QUEUED | F_SHUT_WR)) === F_FIN_QUEUED;
  const limit = isOrphan ? hostParam(h, HostParam.OrphanRetries) : hostParam(h, HostParam.Retries2);
  if (retries(s) >= limit) { fail(s, ERR_ETIMEDOUT); return; }
  setRetries(s, retries(s) + 1);
  setSndNxt(s, sndUna(s));
  retransmitting = true;
  output(s);
  retransmitting = false;
}

/** SYN_SENT's timer: tcp_syn_linear_timeouts retransmissions at rto_init, then backoff; the count and tcp_model_timeout limits. */
function synTimer(s: number): void {
  const h = hostOf(s);
  const r = retries(s);
  const lin = hostParam(h, HostParam.SynLinearTimeouts);
  const n = hostParam(h, HostParam.SynRetries);
  if (r >= n + lin || (r > 0 && ((Math.floor(now / 1000) - irs(s)) >>> 0) >= modelTimeoutMs(s, n))) { fail(s, ERR_ETIMEDOUT); return; }
  setRetries(s, r + 1);
  retransmitting = true;
  sendSyn(s);
  retransmitting = false;
  armTimer(s, backoff(s, r + 1 > lin ? r + 1 - lin : 0));
}
function modelTimeoutMs(s: number, boundary: number): number {
  const h = hostOf(s);
  const base = Math.floor(hostParam(h, HostParam.RtoInit) / 1000);
  const cap = Math.floor(hostParam(h, HostParam.RtoMax) / 1000);
  if (base === 0) return 0;
  const thresh = Math.floor(Math.log2(Math.max(Math.floor(cap / base), 1)));
  if (boundary <= thresh) return ((2 * 2 ** boundary) - 1) * base;
  return ((2 * 2 ** thresh) - 1) * base + (boundary - thresh) * cap;
}

// ---- a server process that stops and starts again ------------------------------------

export function listenersStart(): void {
  for (let l = 0; l < nListeners; l++) {
    actAs(ipHost(listenerIp(l)));
    if (listenerStopAt(l) > 0) schedule(listenerStopAt(l), EV_LISTENER, l, LISTENER_STOP);
    if (listenerStartAt(l) > 0) schedule(listenerStartAt(l), EV_LISTENER, l, LISTENER_BIND);
  }
}

export function listenerEvent(l: number, what: number): void {
  if (what === LISTENER_STOP) serverStops(l); else listenerBind(l);
}

function serverStops(l: number): void {
  if (!listenerBound(l)) return;
  const ip = listenerIp(l);
  const port = listenerPort(l);
  const n = sockets.slotsUsed();
  const closing: number[] = [];
  for (let s = 0; s < n; s++) {
    const st = state(s);
    if (st === State.CLOSED || st === State.LISTEN || !hasFlag(s, F_SERVER) || ipIdx(s) !== ip || lport(s) !== port) continue;
    closing.push(s);
  }
  // In connection id order, as the engine (its slot order is per instance).
  closing.sort((a, b) => conn(a) - conn(b) || a - b);
  for (const s of closing) {
    if (state(s) === State.SYN_RCVD) { destroy(s); continue; }
    if (hasFlag(s, F_FIN_QUEUED)) continue;
    appClose(s, false);
    flush(s, false);
  }
  unbindListener(l);
}

function listenerBind(l: number): void {
  if (listenerBound(l)) return;
  const use = portUse(listenerIp(l), listenerPort(l));
  const busy = listenerReuse(l) ? use >= LISTENER_BIT : use !== 0;
  if (busy) {
    countFailure(ERR_EADDRINUSE);
    schedule(now + listenerRetry(l), EV_LISTENER, l, LISTENER_BIND);
    return;
  }
  bindListener(l);
}

export function failNoPort(): void {
  bump(Stat.ConnectFailed);
  countFailure(ERR_EADDRNOTAVAIL);
}
