// The pcap writer, checked two ways: a small reader written here (independent of the
// writer) decodes every header field back, and tshark, when installed, must read the
// same file without a malformed packet or a bad checksum.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { runScenario, type Trace, type TraceSegment } from "../sdk/index.js";
import { pcapBytes } from "../sdk/report/pcap.js";
import { pair } from "./helpers.js";

/**
 * Three traced connections: two with a 5000-byte response (four segments of at most
 * one MSS) where the first one's final ACK is always lost, so LAST_ACK retransmits its
 * FIN and every re-ACK is dropped too; and one refused with a RST (port 81 is closed).
 */
let cached: Promise<Trace[]> | undefined;
function lossyTraces(): Promise<Trace[]> {
  cached ??= (async () => {
    const s = pair({
      trace: 3,
      loss: { plugin: "drop", rules: [{ from: "client", flags: ".", state: "TIME_WAIT", conn: 0 }] },
      workload: { response: 5000, count: 2, rate: 10 },
    });
    s.workloads.push({ ...s.workloads[0], to: "server:81", count: 1 });
    const r = await runScenario(s);
    return r.traces!;
  })();
  return cached;
}

interface Expected { seg: TraceSegment; src: string; dst: string }

/** The packets the file should hold: all segments in time order, ties in trace order. */
function expectedPackets(traces: Trace[]): Expected[] {
  const rows = traces.filter((t) => t.client !== "").flatMap((t, ti) => t.segments.map((seg, si) => {
    const fromClient = seg.from === t.segments[0].from;
    return { seg, ti, si, src: fromClient ? t.client : t.server, dst: fromClient ? t.server : t.client };
  }));
  rows.sort((a, b) => a.seg.t - b.seg.t || a.ti - b.ti || a.si - b.si);
  return rows.map(({ seg, src, dst }) => ({ seg, src, dst }));
}

// ---- an independent reader ----

interface PcapFile {
  magic: number[]; major: number; minor: number; thiszone: number; sigfigs: number; snaplen: number; linktype: number;
  records: { sec: number; usec: number; caplen: number; origlen: number; frame: Uint8Array }[];
}

function readPcap(b: Uint8Array): PcapFile {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const file: PcapFile = {
    magic: [...b.subarray(0, 4)], major: v.getUint16(4, true), minor: v.getUint16(6, true),
    thiszone: v.getInt32(8, true), sigfigs: v.getUint32(12, true), snaplen: v.getUint32(16, true),
    linktype: v.getUint32(20, true), records: [],
  };
  let at = 24;
  while (at < b.length) {
    const caplen = v.getUint32(at + 8, true);
    file.records.push({
      sec: v.getUint32(at, true), usec: v.getUint32(at + 4, true), caplen, origlen: v.getUint32(at + 12, true),
      frame: b.subarray(at + 16, at + 16 + caplen),
    });
    at += 16 + caplen;
  }
  expect(at).toBe(b.length); // no trailing or missing bytes
  return file;
}

/** Ones-complement of the ones-complement sum: 0 over data that carries a correct checksum. */
function verify(...parts: Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) for (let i = 0; i < p.length; i += 2) sum += p[i] * 256 + (p[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return 0xffff - sum;
}

const hex = (bytes: Iterable<number>) => [...bytes].map((x) => x.toString(16).padStart(2, "0")).join(":");

/** TCP flag bits as tcpdump writes them (the engine's order: F S R P .). */
function flagText(bits: number): string {
  const known = [[0x01, "F"], [0x02, "S"], [0x04, "R"], [0x08, "P"], [0x10, "."]] as const;
  return known.map(([bit, c]) => (bits & bit ? c : "")).join("") + (bits & ~0x1f ? `?${bits.toString(16)}` : "");
}

function decodeFrame(frame: Uint8Array) {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const ip = frame.subarray(14);
  const ihl = (ip[0] & 0x0f) * 4;
  const total = v.getUint16(14 + 2);
  const tcp = ip.subarray(ihl, total);
  const t = 14 + ihl;
  const dataOffset = (frame[t + 12] >> 4) * 4;
  const pseudo = new Uint8Array([...ip.subarray(12, 20), 0, 6, tcp.length >> 8, tcp.length & 0xff]);
  const payload = tcp.subarray(dataOffset);
  // The options: kinds in order, and the timestamps option's values.
  const kinds: number[] = [];
  let tsval: number | undefined, tsecr: number | undefined, mss: number | undefined;
  for (let o = 20; o < dataOffset;) {
    const kind = tcp[o];
    kinds.push(kind);
    if (kind === 1) { o++; continue; }
    if (kind === 8) { tsval = v.getUint32(t + o + 2); tsecr = v.getUint32(t + o + 6); }
    if (kind === 2) mss = v.getUint16(t + o + 2);
    o += tcp[o + 1];
  }
  return {
    dstMac: hex(frame.subarray(0, 6)), srcMac: hex(frame.subarray(6, 12)), etherType: v.getUint16(12),
    ipVersion: ip[0] >> 4, ipHeader: ihl, ipTotal: total, ipId: v.getUint16(14 + 4), ipFrag: v.getUint16(14 + 6),
    ttl: ip[8], protocol: ip[9], ipChecksum: verify(ip.subarray(0, ihl)),
    src: `${ip.subarray(12, 16).join(".")}:${v.getUint16(t)}`, dst: `${ip.subarray(16, 20).join(".")}:${v.getUint16(t + 2)}`,
    seq: v.getUint32(t + 4), ack: v.getUint32(t + 8), tcpHeader: dataOffset, flags: flagText(frame[t + 13]),
    window: v.getUint16(t + 14), urgent: v.getUint16(t + 18), tcpChecksum: verify(pseudo, tcp),
    len: payload.length, payloadZero: payload.every((x) => x === 0), options: kinds, mss, tsval, tsecr,
  };
}

const macOf = (endpoint: string) => hex([2, 0, ...endpoint.split(":")[0].split(".").map(Number)]);

/**
 * The option kinds Linux writes: a SYN MSS, SACK-permitted, TS (or NOP, NOP for it), NOP,
 * window scale; any other segment of a connection with timestamps NOP, NOP, TS.
 */
function optionKinds(seg: TraceSegment): number[] {
  const ts = seg.tsval !== undefined;
  if (seg.flags.includes("S")) return ts ? [2, 4, 8, 1, 3] : [2, 1, 1, 4, 1, 3];
  return ts ? [1, 1, 8] : [];
}
const optionBytes = (seg: TraceSegment) => (seg.flags.includes("S") ? (seg.tsval !== undefined ? 20 : 12) : seg.tsval !== undefined ? 12 : 0);

describe("pcap writer", () => {
  test("every traced segment, dropped ones too, reads back with true headers and checksums", async () => {
    const traces = await lossyTraces();
    const want = expectedPackets(traces);
    // The scenario has what the file must show: a lost segment, a retransmission, several MSS, a RST.
    expect(want.some((p) => p.seg.fate === "dropped")).toBe(true);
    expect(want.filter((p) => p.seg.flags === "F." && p.src.endsWith(":80")).length).toBeGreaterThan(2);
    expect(want.filter((p) => p.seg.len === 1460).length).toBeGreaterThanOrEqual(6);
    expect(want.some((p) => p.seg.flags.includes("R"))).toBe(true);
    // Timestamps (the linux profile's default) on every segment but the closed port's RST.
    expect(want.filter((p) => p.seg.tsval === undefined).map((p) => p.seg.flags)).toEqual(["R."]);

    const file = readPcap(pcapBytes(traces));
    expect(file).toMatchObject({
      magic: [0xd4, 0xc3, 0xb2, 0xa1], major: 2, minor: 4, thiszone: 0, sigfigs: 0, snaplen: 65535, linktype: 1,
    });
    expect(file.records).toHaveLength(want.length);

    const sent = new Map<string, number>(); // IPv4 identification counts per sender
    const got = file.records.map((r) => ({
      us: r.sec * 1e6 + r.usec, usecInRange: r.usec < 1e6, caplen: r.caplen, origlen: r.origlen, ...decodeFrame(r.frame),
    }));
    const expected = want.map(({ seg, src, dst }) => {
      const ip = src.split(":")[0];
      const id = sent.get(ip) ?? 0;
      sent.set(ip, id + 1);
      const opt = optionBytes(seg);
      return {
        us: Math.round(seg.t * 1e6), usecInRange: true, caplen: 54 + opt + seg.len, origlen: 54 + opt + seg.len,
        dstMac: macOf(dst), srcMac: macOf(src), etherType: 0x0800,
        ipVersion: 4, ipHeader: 20, ipTotal: 40 + opt + seg.len, ipId: id, ipFrag: 0x4000, ttl: 64, protocol: 6, ipChecksum: 0,
        src, dst, seq: seg.seq, ack: seg.flags.includes(".") ? seg.ack : 0, tcpHeader: 20 + opt, flags: seg.flags,
        window: 65535, urgent: 0, tcpChecksum: 0, len: seg.len, payloadZero: true,
        options: optionKinds(seg), mss: seg.flags.includes("S") ? 1460 : undefined, tsval: seg.tsval, tsecr: seg.tsecr,
      };
    });
    expect(got).toEqual(expected);
  });

  test("flags, timestamps and skipped traces, on hand-made records", () => {
    const seg = (t: number, from: string, flags: string, seq = 1000, ack = 2000, len = 0): TraceSegment =>
      ({ t, from, to: from === "a" ? "b" : "a", flags, seq, ack, len, fate: "delivered" });
    const traces: Trace[] = [
      { id: 0, client: "", server: "", states: [], segments: [seg(0, "a", "S")] }, // no open record: skipped
      {
        id: 1, client: "192.168.1.10:50000", server: "172.16.0.1:443", states: [],
        segments: [
          seg(0.3000000000000001, "a", "S", 0xffffffff, 77), seg(1.999999, "b", "S."), seg(2.0000004, "a", "."),
          seg(2.5, "a", "FP.", 1, 2, 3), seg(2.5, "b", "F."), seg(8.2, "b", "R", 5, 99), seg(4294.967295, "a", "R."),
        ],
      },
    ];
    const { records } = readPcap(pcapBytes(traces));
    // 8.2 s is 8199999.999999999 us in floating point: the split must round, not truncate.
    expect(records.map((r) => [r.sec, r.usec])).toEqual([[0, 300000], [1, 999999], [2, 0], [2, 500000], [2, 500000], [8, 200000], [4294, 967295]]);
    expect(records.map((r) => decodeFrame(r.frame)).map((p) => `${p.src}>${p.dst} ${p.flags} ${p.seq} ${p.ack} ${p.len}`)).toEqual([
      "192.168.1.10:50000>172.16.0.1:443 S 4294967295 0 0", // no ACK flag: the ack field is zero
      "172.16.0.1:443>192.168.1.10:50000 S. 1000 2000 0",
      "192.168.1.10:50000>172.16.0.1:443 . 1000 2000 0",
      "192.168.1.10:50000>172.16.0.1:443 FP. 1 2 3",
      "172.16.0.1:443>192.168.1.10:50000 F. 1000 2000 0",
      "172.16.0.1:443>192.168.1.10:50000 R 5 0 0",
      "192.168.1.10:50000>172.16.0.1:443 R. 1000 2000 0",
    ]);
    expect(records.every((r) => decodeFrame(r.frame).tcpChecksum === 0 && decodeFrame(r.frame).ipChecksum === 0)).toBe(true);
    expect(pcapBytes([]).length).toBe(24);
  });
});

// ---- tshark, when installed (CI sets CONNSIM_REQUIRE_TSHARK=1 to insist) ----

const tsharkFound = spawnSync("tshark", ["-v"]).status === 0;
const tsharkRequired = process.env.CONNSIM_REQUIRE_TSHARK === "1";

/** Runs tshark on a file; it must exit 0 and say nothing on stderr but its run-as-root warning. */
function tshark(file: string, ...args: string[]): string {
  const r = spawnSync("tshark", ["-n", "-r", file, ...args], { encoding: "utf8" });
  const stderr = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("Running as user")).join("\n");
  expect({ status: r.status, stderr }).toEqual({ status: 0, stderr: "" });
  return r.stdout;
}

describe("pcap in tshark", () => {
  test.skipIf(!tsharkFound && !tsharkRequired)("tshark decodes every packet, checksums good, one conversation per trace", async () => {
    if (!tsharkFound) expect.fail("tshark is required (CONNSIM_REQUIRE_TSHARK=1) but was not found on PATH");
    const traces = await lossyTraces();
    const want = expectedPackets(traces);
    const dir = mkdtempSync(join(tmpdir(), "connsim-pcap-"));
    try {
      const file = join(dir, "trace.pcap");
      writeFileSync(file, pcapBytes(traces));

      const fields = ["frame.number", "frame.len", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len",
        "ip.checksum.status", "tcp.checksum.status", "_ws.expert.severity", "_ws.expert.message",
        "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr", "tcp.options.mss_val", "tcp.options.wscale.shift"];
      const out = tshark(file, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
        "-T", "fields", "-E", "separator=|", "-E", "aggregator=;", ...fields.flatMap((f) => ["-e", f]));
      const rows = out.trimEnd().split("\n").map((line) => line.split("|"));
      expect(rows).toHaveLength(want.length);
      rows.forEach(([num, len, flags, seq, ack, tcpLen, ipStatus, tcpStatus, severities, messages, tsval, tsecr, mss, wscale], i) => {
        const { seg } = want[i];
        const where = `frame ${num}: ${messages}`;
        expect([num, len, flagText(Number(flags)), seq, ack, tcpLen], where).toEqual([
          String(i + 1), String(54 + optionBytes(seg) + seg.len), seg.flags, String(seg.seq), String(seg.flags.includes(".") ? seg.ack : 0), String(seg.len),
        ]);
        // The timestamps option as tshark reads it; a SYN's MSS and window scale.
        expect([tsval, tsecr], where).toEqual(seg.tsval === undefined ? ["", ""] : [String(seg.tsval), String(seg.tsecr)]);
        expect([mss, wscale], where).toEqual(seg.flags.includes("S") ? ["1460", "0"] : ["", ""]);
        expect([ipStatus, tcpStatus], `${where} (checksum status 1 is "Good")`).toEqual(["1", "1"]);
        // Errors (malformed, bad checksum) have severity 0x800000; notes and warnings are lower.
        expect(severities.split(";").filter((s) => Number(s) >= 0x800000), where).toEqual([]);
        expect(messages, where).not.toMatch(/bad checksum|malformed/i);
      });
      // tshark's own analysis agrees: the lost final ACK shows as retransmitted FINs.
      expect(rows.some((r) => /retransmission/i.test(r[9]))).toBe(true);
      // Each sender's TSvals never go back and move on with time (a millisecond clock);
      // each TSecr is a TSval the other end sent before.
      for (const t of traces.filter((x) => x.client !== "" && x.segments[0].tsval !== undefined)) {
        for (const from of new Set(t.segments.map((x) => x.from))) {
          const mine = t.segments.filter((x) => x.from === from && x.tsval !== undefined);
          mine.slice(1).forEach((x, k) => expect(x.tsval! - mine[k].tsval!).toBe(Math.floor(x.t * 1000) - Math.floor(mine[k].t * 1000)));
          if (mine.length > 1) expect(mine[mine.length - 1].tsval!).toBeGreaterThan(mine[0].tsval!);
          const theirs = new Set([0, ...t.segments.filter((x) => x.from !== from).map((x) => x.tsval)]);
          for (const x of mine) expect(theirs.has(x.tsecr), `${from} echoes ${x.tsecr}`).toBe(true);
        }
      }

      // One conversation per trace: "A <-> B  frames(B->A) bytes  frames(A->B) bytes  total ...".
      const conv = tshark(file, "-q", "-z", "conv,tcp");
      const size = String.raw`[\d,.]+\s*\w+`;
      const line = new RegExp(String.raw`^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+${size}\s+(\d+)\s+${size}\s+(\d+)\s`);
      const convs = conv.split("\n").flatMap((l) => {
        const m = line.exec(l);
        if (!m) return [];
        const [, a, b, toA, fromA] = m;
        return [{ a, b, toA: Number(toA), fromA: Number(fromA) }];
      });
      const wanted = traces.filter((t) => t.client !== "").map((t) => {
        const clientHost = t.segments[0].from;
        const sentBy = (c: boolean) => t.segments.filter((s) => (s.from === clientHost) === c).length;
        return `${t.client} <-> ${t.server}: ${sentBy(true)} from the client, ${sentBy(false)} from the server`;
      });
      const clients = new Set(traces.map((t) => t.client));
      const seen = convs.map(({ a, b, toA, fromA }) => {
        const [client, server, fromClient, fromServer] = clients.has(a) ? [a, b, fromA, toA] : [b, a, toA, fromA];
        return `${client} <-> ${server}: ${fromClient} from the client, ${fromServer} from the server`;
      });
      expect(seen.sort(), conv).toEqual(wanted.sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
