// assembly/delack.ts in TypeScript: delayed ACKs as Linux 6.18 sends them (quick-ack,
// pingpong, the ATO, the delayed-ACK timer as a second lazy wheel event per socket).
// The engine packs the state in a u64; here it is the same fields in columns of
// sockets.ts (quick, pingpong/pushed bits, ATO, rcv_wup, lrcvtime).

import { HostParam } from "../../assembly/abi.js";
import { hostParam, ipHost } from "./net.js";
import { ackAto, ackBits, ackLrcv, ackWup, dackEvent, ipIdx, setAckAto, setAckBits, setAckLrcv, setAckWup, setDackEvent } from "./sockets.js";
import { cancelDue, evDue, evTime, kernelDue, NEVER, now, orphan, scheduleLazy, setDue } from "./wheel.js";

export const EV_DACK = 4;

const QUICK = 0x1F;
const PINGPONG = 1 << 5;
const PUSHED = 1 << 6;
const PUSHED2 = 1 << 7;
const TCP_MAX_QUICKACKS = 16;
const TCP_MSS_DEFAULT = 536;
const RCV_WND = 65535;

function param(s: number, k: number): number { return hostParam(ipHost(ipIdx(s)), k); }
function tickRate(s: number): number { const hz = param(s, HostParam.Hz); return hz !== 0 ? hz : 1000; }
function ticksNow(rate: number): number { return Math.floor(now * rate / 1000000) % 0x10000000; }
function toTicks(us: number, rate: number): number { return Math.min(Math.floor((us * rate + 999999) / 1000000), 0xFFFFFFFF); }
function atoMin(rate: number): number { return Math.floor(rate / 25); }

export function delayedAcks(s: number): boolean { return param(s, HostParam.DelayedAck) !== 0; }
function rcvMss(s: number, len: number): number { return Math.min(param(s, HostParam.Mss), Math.max(len, TCP_MSS_DEFAULT)); }

function incrQuick(s: number, mssNow: number): void {
  let q = Math.floor(RCV_WND / (2 * Math.max(mssNow, 1)));
  if (q === 0) q = 2;
  q = Math.min(q, TCP_MAX_QUICKACKS);
  const a = ackBits(s);
  if (q > (a & QUICK)) setAckBits(s, (a & ~QUICK) | q);
}

export function ackOwed(s: number, rcvNxtBefore: number): void { setAckWup(s, rcvNxtBefore & 0xFFFF); }

export function dataReceived(s: number, len: number, rtoUs: number): void {
  const rate = tickRate(s);
  const t = ticksNow(rate);
  const mss = rcvMss(s, len);
  let a = ackBits(s);
  if (len < param(s, HostParam.Mss)) { if (a & PUSHED) a |= PUSHED2; a |= PUSHED; }
  setAckBits(s, a);
  let ato = ackAto(s);
  const lo = atoMin(rate);
  if (ato === 0) {
    incrQuick(s, mss);
    ato = lo;
  } else {
    const m = (t - ackLrcv(s) + 0x10000000) % 0x10000000;
    const rto = toTicks(rtoUs, rate);
    if (m <= Math.floor(lo / 2)) ato = (ato >>> 1) + Math.floor(lo / 2);
    else if (m < ato) { ato = (ato >>> 1) + m; if (ato > rto) ato = rto; }
    else if (m > rto) incrQuick(s, mss);
  }
  setAckAto(s, Math.min(ato, 4095));
  setAckLrcv(s, t);
}

export function ackAtOnce(s: number, rcvNxt: number, len: number): boolean {
  if (((rcvNxt - ackWup(s)) & 0xFFFF) > rcvMss(s, len)) return true;
  const a = ackBits(s);
  return (a & QUICK) !== 0 && (a & PINGPONG) === 0;
}

export function ackOnRead(s: number): boolean {
  const a = ackBits(s);
  if (a & PUSHED2) return true;
  return (a & PUSHED) !== 0 && (a & PINGPONG) === 0;
}

export function enterPingpong(s: number): void { setAckBits(s, ackBits(s) | PINGPONG); }

export function quickAckMode(s: number, len: number): void {
  incrQuick(s, rcvMss(s, len));
  setAckBits(s, ackBits(s) & ~PINGPONG);
  setAckAto(s, atoMin(tickRate(s)));
}

export function dataSent(s: number): void {
  const a = ackBits(s);
  if (a & PINGPONG) return;
  const ato = ackAto(s);
  if (ato === 0) return;
  if (((ticksNow(tickRate(s)) - ackLrcv(s) + 0x10000000) % 0x10000000) < ato) setAckBits(s, a | PINGPONG);
}

export function ackSent(s: number): void {
  let a = ackBits(s) & ~(PUSHED | PUSHED2);
  const q = a & QUICK;
  if (q !== 0) {
    a = (a & ~QUICK) | (q - 1);
    if (q === 1) setAckAto(s, atoMin(tickRate(s)));
  }
  setAckBits(s, a);
  const e = dackEvent(s);
  if (e !== 0) cancelDue(e);
}

export function dackArmed(s: number): boolean {
  const e = dackEvent(s);
  if (e === 0) return false;
  return evDue(e) !== NEVER;
}

function delayTicks(s: number, rttUs: number): number {
  const a = ackBits(s);
  const rate = tickRate(s);
  let ato = ackAto(s);
  const lo = atoMin(rate);
  if (ato > lo) {
    let most = Math.floor(rate / 2);
    if (a & (PINGPONG | PUSHED)) most = Math.floor(rate / 5);
    const rtt = Math.max(toTicks(rttUs, rate), lo);
    if (rtt < most) most = rtt;
    ato = Math.min(ato, most);
  }
  return Math.min(ato, Math.floor(rate / 5));
}

function timeoutTicks(s: number, due: number, rate: number): number {
  const t = Math.floor(due * rate / 1000000) % 0x10000000;
  return param(s, HostParam.Hz) !== 0 ? t - 1 : t;
}

export function ackDueSoon(s: number, rttUs: number): boolean {
  if (!dackArmed(s)) return false;
  const rate = tickRate(s);
  const ato = delayTicks(s, rttUs);
  const d = ((timeoutTicks(s, evDue(dackEvent(s)), rate) - (ticksNow(rate) + (ato >>> 2))) % 0x10000000 + 0x10000000) % 0x10000000;
  return d === 0 || d >= 0x8000000;
}

export function ackDelay(s: number, rttUs: number): void {
  const rate = tickRate(s);
  const hz = param(s, HostParam.Hz);
  const due = kernelDue(hz, Math.floor((delayTicks(s, rttUs) * 1000000 + rate - 1) / rate));
  const e = dackEvent(s);
  if (e !== 0) {
    const old = evDue(e);
    if (old !== NEVER && old <= due) return;
    if (evTime(e) < due) { setDue(e, due); return; }
    orphan(e);
  }
  setDackEvent(s, scheduleLazy(due, due, EV_DACK, s, 0));
}

export function dackMissed(s: number, rtoUs: number): void {
  const a = ackBits(s);
  const rate = tickRate(s);
  if (a & PINGPONG) { setAckBits(s, a & ~PINGPONG); setAckAto(s, atoMin(rate)); }
  else setAckAto(s, Math.min(Math.min(ackAto(s) * 2, toTicks(rtoUs, rate)), 4095));
}
