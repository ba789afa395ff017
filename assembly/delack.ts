// Delayed ACKs as Linux 6.18 sends them, for hosts whose HostParam.DelayedAck is 1.
// tcp.ts asks these functions what to do; they keep the socket's ACKS word and its
// delayed-ACK timer (DACK) and send nothing themselves. The Linux functions they follow:
//
// - tcp_event_data_recv (dataReceived): the first data of a connection grants quick
//   ACKs, min(16, rcv_wnd / (2 rcv_mss)), and sets the ACK timeout (ATO) to TCP_ATO_MIN
//   (HZ/25, 40 ms); later data moves the ATO toward the gap between arrivals; a gap
//   longer than the RTO grants quick ACKs again.
// - __tcp_ack_snd_check (ackAtOnce): an owed ACK goes out at once when more than one
//   full-sized segment is unacknowledged (RFC 1122's "every second segment"), or in
//   quick-ack mode (quick ACKs left and not in pingpong mode); else the delayed-ACK timer.
// - tcp_cleanup_rbuf (ackOnRead): the application's read sends it when a small (pushed)
//   segment was read and the connection is not interactive, or after two small ones.
// - tcp_send_delayed_ack (delayTicks, ackDelay): the delay is the ATO, bounded by
//   TCP_DELACK_MAX (HZ/5, 200 ms) in pingpong mode and by the RTT (at least 40 ms);
//   a timer already running keeps its earlier timeout, and one about to expire (within a
//   quarter of the ATO) makes the ACK go now.
// - tcp_event_data_sent (dataSent): data sent within the ATO of the last arrival is an
//   answer: pingpong (interactive) mode, tcp_pingpong_thresh 1. tcp_fin enters it too,
//   which is why the ACK of a FIN waits and usually rides on the peer's own FIN.
// - tcp_event_ack_sent / tcp_dec_quickack_mode (ackSent): an ACK of new data spends a
//   quick ACK; the last one deflates the ATO.
// - tcp_delack_timer_handler (tcp.ts dackFires): a timer that fires in pingpong mode
//   leaves it (ATO back to 40 ms); otherwise the ATO doubles, up to the RTO.
// - tcp_enter_quickack_mode (quickAckMode): an old duplicate segment.
//
// Times are in ticks: jiffies on a host with a hz, milliseconds on one without (timers
// there are exact). The ACKS word:
//   bits 0-4  quick ACKs left (0-16)      bit 5  pingpong    bits 6-7  pushed, pushed twice
//   bits 8-19 ATO in ticks (0: no data received yet; saturates at 4095)
//   bits 20-35 the low 16 bits of RCV.NXT when the owed ACK began (Linux's rcv_wup)
//   bits 36-63 the last data arrival, ticks modulo 2^28 (lrcvtime)
// Model notes: rcv_mss is the arriving segment's size, at least 536, at most the host's
// MSS (Linux keeps the largest it has seen); a segment shorter than the MSS counts as
// pushed; rcv_wnd is the model's 65535.

import { HostParam } from "./abi";
import { ipParam } from "./net";
import { acks, dackEvent, ipIdx, setAcks, setDackEvent } from "./sockets";
import { cancelDue, evDue, evTime, kernelDue, NEVER, now, orphan, scheduleLazy, setDue } from "./wheel";

import { EV_DACK } from "./events";
export { EV_DACK };

const QUICK: u64 = 0x1F;
const PINGPONG: u64 = 1 << 5;
const PUSHED: u64 = 1 << 6;
const PUSHED2: u64 = 1 << 7;
const TCP_MAX_QUICKACKS: u32 = 16;
const TCP_MSS_DEFAULT: u32 = 536;
const RCV_WND: u32 = 65535;

@inline function atoOf(a: u64): u32 { return <u32>(a >> 8) & 0xFFF; }
@inline function withAto(a: u64, ato: u32): u64 { return (a & ~(<u64>0xFFF << 8)) | (<u64>min(ato, 4095) << 8); }
@inline function wupOf(a: u64): u32 { return <u32>(a >> 20) & 0xFFFF; }
@inline function lrcvOf(a: u64): u32 { return <u32>(a >> 36); }

/** Ticks a second: the host's hz, or 1000 (milliseconds) on a host with exact timers. */
@inline function tickRate(s: u32): u32 { const hz = ipParam(ipIdx(s), HostParam.Hz); return hz != 0 ? hz : 1000; }
/** Now in ticks, modulo 2^28 (only differences are used). */
@inline function ticksNow(rate: u32): u32 { return <u32>(now * <u64>rate / 1000000) & 0xFFFFFFF; }
/** A length in microseconds, in ticks, rounded up (usecs_to_jiffies). */
@inline function toTicks(us: u64, rate: u32): u32 { return <u32>min((us * <u64>rate + 999999) / 1000000, <u64>0xFFFFFFFF); }
/** TCP_ATO_MIN = TCP_DELACK_MIN = HZ/25. */
@inline function atoMin(rate: u32): u32 { return rate / 25; }

/** Whether the socket's host sends delayed ACKs. */
@inline export function delayedAcks(s: u32): bool { return ipParam(ipIdx(s), HostParam.DelayedAck) != 0; }

/** rcv_mss for a segment of `len` bytes: the segment, at least 536, at most the MSS. */
@inline function rcvMss(s: u32, len: u32): u32 { return min(ipParam(ipIdx(s), HostParam.Mss), max(len, TCP_MSS_DEFAULT)); }

/** tcp_incr_quickack: quick ACKs, rcv_wnd / (2 rcv_mss) (2 if none), at most 16, never fewer than left. */
function incrQuick(a: u64, mssNow: u32): u64 {
  let q = RCV_WND / (2 * max(mssNow, 1));
  if (q == 0) q = 2;
  q = min(q, TCP_MAX_QUICKACKS);
  if (<u64>q > (a & QUICK)) a = (a & ~QUICK) | <u64>q;
  return a;
}

/** An ACK becomes owed now (none was): RCV.NXT before the segment is rcv_wup. */
export function ackOwed(s: u32, rcvNxtBefore: u32): void {
  setAcks(s, (acks(s) & ~(<u64>0xFFFF << 20)) | (<u64>(rcvNxtBefore & 0xFFFF) << 20));
}

/** tcp_event_data_recv with tcp_measure_rcv_mss: `len` new bytes arrived in order. */
export function dataReceived(s: u32, len: u32, rtoUs: u64): void {
  let a = acks(s);
  const rate = tickRate(s);
  const t = ticksNow(rate);
  const mss = rcvMss(s, len);
  if (len < ipParam(ipIdx(s), HostParam.Mss)) { if (a & PUSHED) a |= PUSHED2; a |= PUSHED; }
  let ato = atoOf(a);
  const lo = atoMin(rate);
  if (ato == 0) {
    a = incrQuick(a, mss); // the first data: the delayed-ACK engine starts in quick-ack mode
    ato = lo;
  } else {
    const m = (t - lrcvOf(a)) & 0xFFFFFFF;
    const rto = toTicks(rtoUs, rate);
    if (m <= lo / 2) ato = (ato >> 1) + lo / 2;
    else if (m < ato) { ato = (ato >> 1) + m; if (ato > rto) ato = rto; }
    else if (m > rto) a = incrQuick(a, mss); // a long gap: the sender restarts, ACK it quickly
  }
  a = withAto(a, ato);
  setAcks(s, (a & ~(<u64>0xFFFFFFF << 36)) | (<u64>t << 36));
}

/** __tcp_ack_snd_check's immediate cases: more than one full segment unacknowledged, or quick-ack mode. */
export function ackAtOnce(s: u32, rcvNxt: u32, len: u32): bool {
  const a = acks(s);
  if (((rcvNxt - wupOf(a)) & 0xFFFF) > rcvMss(s, len)) return true;
  return (a & QUICK) != 0 && (a & PINGPONG) == 0;
}

/** tcp_cleanup_rbuf: the application read data; an owed ACK goes now after a pushed segment (not interactive) or two. */
export function ackOnRead(s: u32): bool {
  const a = acks(s);
  if (a & PUSHED2) return true;
  return (a & PUSHED) != 0 && (a & PINGPONG) == 0;
}

/** tcp_fin in ESTABLISHED: the peer closed, answers will be interactive. */
export function enterPingpong(s: u32): void { setAcks(s, acks(s) | PINGPONG); }

/** tcp_enter_quickack_mode: quick ACKs again, pingpong left, ATO at its minimum. */
export function quickAckMode(s: u32, len: u32): void {
  const a = incrQuick(acks(s), rcvMss(s, len)) & ~PINGPONG;
  setAcks(s, withAto(a, atoMin(tickRate(s))));
}

/** tcp_event_data_sent: data went out; within the ATO of the last arrival it is an answer (pingpong). */
export function dataSent(s: u32): void {
  const a = acks(s);
  if (a & PINGPONG) return;
  const ato = atoOf(a);
  if (ato == 0) return;
  if (((ticksNow(tickRate(s)) - lrcvOf(a)) & 0xFFFFFFF) < ato) setAcks(s, a | PINGPONG);
}

/** tcp_event_ack_sent: the owed ACK went out (on any segment); a quick ACK is spent and the timer stopped. */
export function ackSent(s: u32): void {
  let a = acks(s) & ~(PUSHED | PUSHED2);
  const q = a & QUICK;
  if (q != 0) {
    a = (a & ~QUICK) | (q - 1);
    if (q == 1) a = withAto(a, atoMin(tickRate(s))); // leaving quick-ack mode deflates the ATO
  }
  setAcks(s, a);
  const e = dackEvent(s);
  if (e != 0) cancelDue(e);
}

/** Whether the socket's delayed-ACK timer is running. */
@inline export function dackArmed(s: u32): bool {
  const e = dackEvent(s);
  if (e == 0) return false;
  return evDue(e) != NEVER;
}

/** tcp_send_delayed_ack's delay: the ATO, bounded as Linux bounds it (`rttUs` the path's RTT); ticks. */
function delayTicks(s: u32, rttUs: u64): u32 {
  const a = acks(s);
  const rate = tickRate(s);
  let ato = atoOf(a);
  const lo = atoMin(rate);
  if (ato > lo) {
    let most = rate / 2;
    if (a & (PINGPONG | PUSHED)) most = rate / 5; // TCP_DELACK_MAX
    const rtt = max(toTicks(rttUs, rate), lo);
    if (rtt < most) most = rtt;
    ato = min(ato, most);
  }
  return min(ato, rate / 5); // icsk_delack_max
}

/** The tick a delayed-ACK timer's due time stands for (its timeout; a wheel timer fires one tick after it). */
@inline function timeoutTicks(s: u32, due: u64, rate: u32): u32 {
  const t = <u32>(due * <u64>rate / 1000000) & 0xFFFFFFF;
  return ipParam(ipIdx(s), HostParam.Hz) != 0 ? t - 1 : t;
}

/** tcp_send_delayed_ack's first test: a running timer about to expire (within ATO/4) makes the ACK go now. */
export function ackDueSoon(s: u32, rttUs: u64): bool {
  if (!dackArmed(s)) return false;
  const rate = tickRate(s);
  const ato = delayTicks(s, rttUs);
  const d = (timeoutTicks(s, evDue(dackEvent(s)), rate) - (ticksNow(rate) + (ato >> 2))) & 0xFFFFFFF; // (28-bit ticks)
  return d == 0 || d >= 0x8000000;
}

/**
 * tcp_send_delayed_ack: (re)starts the delayed-ACK timer; one already running keeps its
 * timeout when that is earlier. The socket keeps one event: moved on when it may be,
 * filed anew (the old one orphaned) when the timeout is before its slot.
 */
export function ackDelay(s: u32, rttUs: u64): void {
  const rate = tickRate(s);
  const hz = ipParam(ipIdx(s), HostParam.Hz);
  const due = kernelDue(hz, (<u64>delayTicks(s, rttUs) * 1000000 + <u64>rate - 1) / <u64>rate);
  const e = dackEvent(s);
  if (e != 0) {
    const old = evDue(e);
    if (old != NEVER) { if (old <= due) return; } // the earlier timeout stands
    if (evTime(e) < due) { setDue(e, due); return; }
    orphan(e);
  }
  setDackEvent(s, scheduleLazy(due, due, EV_DACK, s, 0));
}

/** tcp_delack_timer_handler's ATO update before the ACK goes: pingpong left (ATO to its minimum), else the ATO doubles up to the RTO. */
export function dackMissed(s: u32, rtoUs: u64): void {
  const a = acks(s);
  const rate = tickRate(s);
  if (a & PINGPONG) setAcks(s, withAto(a & ~PINGPONG, atoMin(rate)));
  else setAcks(s, withAto(a, min(atoOf(a) << 1, toTicks(rtoUs, rate))));
}
