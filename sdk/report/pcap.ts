// Classic libpcap export of traced connections, so a simulated run can be read with
// tcpdump or Wireshark. The simulation has no wire: each segment is written as the
// frame its sender would have put on its interface, which is why dropped segments
// are included (a sender's capture sees what it sent, not what arrived). The engine
// counts payload bytes but never stores them, so payloads are zeros: lengths, sequence
// numbers and checksums stay true. UDP datagrams get UDP headers; an ICMP port
// unreachable (a UDP query nobody listens for) is left out.
//
// TCP options are written as Linux lays them out: a SYN or SYN-ACK carries MSS (the
// sending host's knob), SACK-permitted, timestamps when the trace has them, and window
// scale 0 (the model's windows are unscaled, 65535); any other segment of a connection
// with timestamps carries NOP, NOP, TS (tcpdump: "options [nop,nop,TS val .. ecr ..]").

import type { Trace, TraceSegment } from "../result.js";

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
const ETH = 14;
const IPV4 = 20;
const TCP = 20;
const UDP = 8;
const SNAPLEN = 65535;
const LINKTYPE_ETHERNET = 1;

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, ".": 0x10 };

interface Endpoint { ip: number[]; port: number }
interface Packet { seg: TraceSegment; src: Endpoint; dst: Endpoint; options: number[] }

/** The file for these traces. */
export function pcapBytes(traces: Trace[]): Uint8Array {
  const packets: Packet[] = [];
  for (const tr of traces) {
    if (!tr.client || tr.segments.length === 0) continue; // no open record: addresses unknown
    const client = endpoint(tr.client);
    const server = endpoint(tr.server);
    const clientHost = tr.segments[0].from; // every trace starts with the client's SYN
    for (const seg of tr.segments) {
      if (seg.flags === "udp unreachable") continue; // an ICMP message: not written
      const fromClient = seg.from === clientHost;
      packets.push({ seg, src: fromClient ? client : server, dst: fromClient ? server : client, options: tcpOptions(seg, seg.mss ?? 1460) });
    }
  }
  packets.sort((a, b) => a.seg.t - b.seg.t); // stable: ties keep trace order

  const frameLength = (p: Packet) => ETH + IPV4 + (isUdp(p) ? UDP : TCP + p.options.length) + p.seg.len;
  const size = packets.reduce((n, p) => n + RECORD_HEADER + frameLength(p), GLOBAL_HEADER);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);

  // The global header is written little-endian; readers detect byte order from the magic.
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, SNAPLEN, true);
  view.setUint32(20, LINKTYPE_ETHERNET, true);

  const ipIds = new Map<string, number>(); // IPv4 identification, one counter per sender
  let at = GLOBAL_HEADER;
  for (const p of packets) {
    const length = frameLength(p);
    if (length > SNAPLEN) throw new RangeError(`pcap: a ${p.seg.len}-byte segment exceeds the ${SNAPLEN}-byte snaplen`);
    const us = Math.round(p.seg.t * 1e6);
    view.setUint32(at, Math.floor(us / 1e6), true);
    view.setUint32(at + 4, us % 1e6, true);
    view.setUint32(at + 8, length, true);
    view.setUint32(at + 12, length, true);
    at += RECORD_HEADER;

    const srcKey = p.src.ip.join(".");
    const id = ipIds.get(srcKey) ?? 0;
    ipIds.set(srcKey, (id + 1) & 0xffff);
    writeFrame(bytes.subarray(at, at + length), p, id);
    at += length;
  }
  return bytes;
}

const isUdp = (p: Packet) => p.seg.flags.startsWith("udp");

const NOP = 1;
/** A TCP segment's options, as Linux's tcp_options_write orders them (a multiple of 4 bytes). */
function tcpOptions(seg: TraceSegment, mss: number): number[] {
  if (seg.flags.startsWith("udp")) return [];
  const ts = seg.tsval === undefined ? [] : [8, 10, ...u32(seg.tsval), ...u32(seg.tsecr ?? 0)];
  if (seg.flags.includes("S")) {
    return [2, 4, mss >> 8, mss & 0xff, ...(ts.length ? [4, 2, ...ts] : [NOP, NOP, 4, 2]), NOP, 3, 3, 0];
  }
  return ts.length ? [NOP, NOP, ...ts] : [];
}
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** Ethernet II + IPv4 + TCP or UDP headers; the payload is left as zeros. */
function writeFrame(frame: Uint8Array, p: Packet, id: number): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const { seg, src, dst } = p;

  frame.set(mac(dst.ip), 0);
  frame.set(mac(src.ip), 6);
  view.setUint16(12, 0x0800);

  const ip = frame.subarray(ETH, ETH + IPV4);
  const ipView = new DataView(ip.buffer, ip.byteOffset, IPV4);
  ipView.setUint8(0, 0x45); // version 4, IHL 5
  const udp = isUdp(p);
  ipView.setUint16(2, IPV4 + (udp ? UDP : TCP + p.options.length) + seg.len);
  ipView.setUint16(4, id);
  ipView.setUint16(6, 0x4000); // DF, no fragments
  ipView.setUint8(8, 64);
  ipView.setUint8(9, udp ? 17 : 6);
  ip.set(src.ip, 12);
  ip.set(dst.ip, 16);
  ipView.setUint16(10, checksum(ip));

  const pseudo = new Uint8Array(12);
  pseudo.set(src.ip, 0);
  pseudo.set(dst.ip, 4);
  pseudo[9] = udp ? 17 : 6;
  const l4 = frame.subarray(ETH + IPV4);
  new DataView(pseudo.buffer).setUint16(10, l4.length);
  if (udp) {
    const v = new DataView(l4.buffer, l4.byteOffset, l4.byteLength);
    v.setUint16(0, src.port);
    v.setUint16(2, dst.port);
    v.setUint16(4, l4.length);
    v.setUint16(6, checksum(l4, sum16(pseudo)) || 0xffff); // 0 would mean "no checksum"
    return;
  }

  const flags = tcpFlags(seg.flags);
  const tcp = frame.subarray(ETH + IPV4);
  const tcpView = new DataView(tcp.buffer, tcp.byteOffset, tcp.byteLength);
  tcpView.setUint16(0, src.port);
  tcpView.setUint16(2, dst.port);
  tcpView.setUint32(4, seg.seq >>> 0);
  tcpView.setUint32(8, flags & FLAG_BITS["."] ? seg.ack >>> 0 : 0);
  tcpView.setUint8(12, ((TCP + p.options.length) / 4) << 4); // data offset, options included
  tcpView.setUint8(13, flags);
  tcpView.setUint16(14, 65535);
  tcp.set(p.options, TCP);
  tcpView.setUint16(16, checksum(tcp, sum16(pseudo)));
}

/** "10.0.0.1:32768" -> address bytes and port. */
function endpoint(text: string): Endpoint {
  const colon = text.lastIndexOf(":");
  const ip = text.slice(0, colon).split(".").map(Number);
  const port = Number(text.slice(colon + 1));
  if (ip.length !== 4 || ip.some((b) => !(b >= 0 && b <= 255)) || !(port >= 0 && port <= 65535)) {
    throw new Error(`pcap: cannot read address "${text}"`);
  }
  return { ip, port };
}

/** A stable locally administered MAC per IPv4 address: 02:00:a:b:c:d. */
function mac(ip: number[]): number[] {
  return [0x02, 0x00, ...ip];
}

/** tcpdump's flag text ("S.", "FP.", "R") to the TCP header's flag bits. */
function tcpFlags(text: string): number {
  let bits = 0;
  for (const c of text) {
    const bit = FLAG_BITS[c];
    if (bit === undefined) throw new Error(`pcap: unknown TCP flag "${c}" in "${text}"`);
    bits |= bit;
  }
  return bits;
}

/** Sum of big-endian 16-bit words, an odd last byte padded with zero. */
function sum16(b: Uint8Array, acc = 0): number {
  for (let i = 0; i < b.length; i += 2) acc += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  return acc;
}

/** The Internet checksum (RFC 1071): ones-complement of the folded ones-complement sum. */
function checksum(b: Uint8Array, acc = 0): number {
  let s = sum16(b, acc);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
