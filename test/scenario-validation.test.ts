// Malformed scenarios: each must fail with one ScenarioError line that starts with the
// exact field path and says what is allowed (DESIGN.md, Contracts: "a one-line reason").
// Every case starts from the same valid scenario and changes one thing.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { planScenario, ScenarioError } from "../sdk/index.js";
import { quickScenario } from "../sdk/scenario.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

type Json = Record<string, any>;

function base(): Json {
  return {
    name: "validation",
    duration: "10s",
    hosts: {
      client: { ip: "10.0.0.1" },
      server: { ip: "10.0.0.2", listen: [{ port: 80 }] },
    },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 10 }],
  };
}

/** What zod says when its own messages leak through; none of it may reach a user. */
const ZOD_WORDS = [/Invalid input/, /Too (big|small)/, /expected \w+ to (be|have)/, /received/, /Invalid (key|discriminator)/, /Unrecognized key/];

function planError(input: unknown): ScenarioError {
  let caught: unknown;
  try {
    planScenario(input);
  } catch (e) {
    caught = e;
  }
  expect(caught, "planScenario should have thrown").toBeInstanceOf(ScenarioError);
  return caught as ScenarioError;
}

/** Asserts the one-line shape and returns the part after "<field>: ". */
function expectFieldError(input: unknown, field: string): string {
  const err = planError(input);
  expect(err.message).not.toMatch(/[\r\n]/);
  expect(err.field).toBe(field);
  expect(err.message.startsWith(`${field}: `), err.message).toBe(true);
  for (const w of ZOD_WORDS) expect(err.message).not.toMatch(w);
  return err.message.slice(field.length + 2);
}

interface Case {
  what: string;
  change: (s: Json) => void;
  field: string;
  says: (string | RegExp)[];
}

const cases: Case[] = [
  {
    what: "misspelt top-level field",
    change: (s) => { s.durration = s.duration; delete s.duration; },
    field: "scenario.durration",
    says: ['unknown field; did you mean "duration"?', /Allowed: .*\bduration\b/],
  },
  {
    what: "unknown top-level field with nothing close",
    change: (s) => { s.colour = "blue"; },
    field: "scenario.colour",
    says: ["unknown field", /Allowed: name, description, seed, duration/],
  },
  {
    what: "misspelt nested field (swapped letters)",
    change: (s) => { s.hosts.client.tpc = { timeWait: "1s" }; },
    field: "scenario.hosts.client.tpc",
    says: ['unknown field; did you mean "tcp"?', /Allowed: ip, count, ports, portAllocator, reservedPorts, tcp, listen/],
  },
  {
    what: "misspelt tcp knob (case)",
    change: (s) => { s.hosts.client.tcp = { timewait: "1s" }; },
    field: "scenario.hosts.client.tcp.timewait",
    says: ['did you mean "timeWait"?'],
  },
  {
    what: "misspelt workload field",
    change: (s) => { s.workloads[0].rat = 5; },
    field: "scenario.workloads.0.rat",
    says: ['did you mean "rate"?'],
  },
  {
    what: 'duration with a spelled-out unit ("60 sec")',
    change: (s) => { s.duration = "60 sec"; },
    field: "scenario.duration",
    says: ['"60 sec" is not a duration', '"60s"', '"500us"', "number of seconds"],
  },
  {
    what: 'negative duration ("-5s")',
    change: (s) => { s.duration = "-5s"; },
    field: "scenario.duration",
    says: ['"-5s" is negative', "zero or more"],
  },
  {
    what: "negative duration as a number",
    change: (s) => { s.duration = -5; },
    field: "scenario.duration",
    says: ["-5", "zero or more"],
  },
  {
    what: 'duration that is a word ("fast")',
    change: (s) => { s.duration = "fast"; },
    field: "scenario.duration",
    says: ['"fast" is not a duration', '"60s"'],
  },
  {
    what: "zero duration",
    change: (s) => { s.duration = 0; },
    field: "scenario.duration",
    says: ["must be more than zero"],
  },
  {
    what: "duration of the wrong type",
    change: (s) => { s.duration = true; },
    field: "scenario.duration",
    says: [/expected a duration like "60s".*, got boolean true/],
  },
  {
    what: "missing required field (duration)",
    change: (s) => { delete s.duration; },
    field: "scenario.duration",
    says: [/^is required: a duration like "60s"/],
  },
  {
    what: "missing required field (hosts)",
    change: (s) => { delete s.hosts; },
    field: "scenario.hosts",
    says: ["is required: an object"],
  },
  {
    what: "bad latency on a link",
    change: (s) => { s.links[0].latency = "1 msec"; },
    field: "scenario.links.0.latency",
    says: ['"1 msec" is not a duration'],
  },
  {
    what: "inverted port range",
    change: (s) => { s.hosts.client.ports = "41000-40000"; },
    field: "scenario.hosts.client.ports",
    says: ['"41000-40000" is inverted', "41000", "40000"],
  },
  {
    what: "port range out of range",
    change: (s) => { s.hosts.client.ports = "40000-70000"; },
    field: "scenario.hosts.client.ports",
    says: ['"40000-70000" is outside 1-65535'],
  },
  {
    what: "port range starting at 0",
    change: (s) => { s.hosts.client.ports = "0-1000"; },
    field: "scenario.hosts.client.ports",
    says: ["outside 1-65535"],
  },
  {
    what: "port range that is not a range",
    change: (s) => { s.hosts.client.ports = "lots"; },
    field: "scenario.hosts.client.ports",
    says: ['"lots" is not a port range', '"40000-40999"'],
  },
  {
    what: "listen port out of range",
    change: (s) => { s.hosts.server.listen[0].port = 70000; },
    field: "scenario.hosts.server.listen.0.port",
    says: ["must be at most 65535, got number 70000"],
  },
  {
    what: "misspelt listener field (SO_REUSEADDR)",
    change: (s) => { s.hosts.server.listen[0].reuseaddr = true; },
    field: "scenario.hosts.server.listen.0.reuseaddr",
    says: ['unknown field; did you mean "reuseAddr"?', "Allowed: port, protocol, backlog, acceptRate, start, stop, reuseAddr, bindRetry"],
  },
  {
    what: "listener stop at zero",
    change: (s) => { s.hosts.server.listen[0].stop = 0; },
    field: "scenario.hosts.server.listen.0.stop",
    says: ["must be more than zero"],
  },
  {
    what: "bind retry too short",
    change: (s) => { s.hosts.server.listen[0].bindRetry = "10us"; },
    field: "scenario.hosts.server.listen.0.bindRetry",
    says: ["must be at least 1ms"],
  },
  {
    what: "workload port out of range",
    change: (s) => { s.workloads[0].to = "server:70000"; },
    field: "scenario.workloads.0.to",
    says: ["port 70000 is outside 1-65535"],
  },
  {
    what: "workload target without a port",
    change: (s) => { s.workloads[0].to = "server"; },
    field: "scenario.workloads.0.to",
    says: ['expected "host:port"', '"server:80"'],
  },
  {
    what: "link to an unknown host (close to a real one)",
    change: (s) => { s.links[0].between = ["client", "sever"]; },
    field: "scenario.links.0.between.1",
    says: ['unknown host "sever"; did you mean "server"?', "Hosts: client, server"],
  },
  {
    what: "link from an unknown host",
    change: (s) => { s.links[0].between = ["clinet", "server"]; },
    field: "scenario.links.0.between.0",
    says: ['unknown host "clinet"; did you mean "client"?'],
  },
  {
    what: "workload to an unknown host (nothing close)",
    change: (s) => { s.workloads[0].to = "db:80"; },
    field: "scenario.workloads.0.to",
    says: ['unknown host "db".', "Hosts: client, server"],
  },
  {
    what: "workload from a misspelt host",
    change: (s) => { s.workloads[0].from = "clinet"; },
    field: "scenario.workloads.0.from",
    says: ['unknown host "clinet"; did you mean "client"?'],
  },
  {
    what: "rate below zero",
    change: (s) => { s.workloads[0].rate = -1; },
    field: "scenario.workloads.0.rate",
    says: ["must be at least 0, got number -1"],
  },
  {
    what: "rate of the wrong type",
    change: (s) => { s.workloads[0].rate = "fast"; },
    field: "scenario.workloads.0.rate",
    says: ['expected a number of connections a second, or steps like [{ "at": "0s", "rate": 100 }', 'got string "fast"'],
  },
  {
    what: "count that is not whole",
    change: (s) => { s.workloads[0].count = 1.5; },
    field: "scenario.workloads.0.count",
    says: ["expected a whole number, got number 1.5"],
  },
  {
    what: "misspelt profile",
    change: (s) => { s.profile = "linx"; },
    field: "scenario.profile",
    says: ['"linx" is not allowed; did you mean "linux"?', 'Allowed: "linux", "linux-5.15", "rfc9293", "windows"'],
  },
  {
    what: "unknown profile with nothing close",
    change: (s) => { s.profile = "freebsd"; },
    field: "scenario.profile",
    says: ['"freebsd" is not allowed.', 'Allowed: "linux", "linux-5.15", "rfc9293", "windows"'],
  },
  {
    what: "misspelt loss plugin",
    change: (s) => { s.links[0].loss = { plugin: "bernouli", p: 0.1 }; },
    field: "scenario.links.0.loss.plugin",
    says: ['unknown plugin "bernouli"; did you mean "bernoulli"?', "Allowed: none, bernoulli, gilbert-elliott, drop, delay-duplicate"],
  },
  {
    what: "unknown loss plugin",
    change: (s) => { s.links[0].loss = { plugin: "chaos-monkey" }; },
    field: "scenario.links.0.loss.plugin",
    says: ['unknown plugin "chaos-monkey".', "Allowed: none, bernoulli"],
  },
  {
    what: "loss without a plugin",
    change: (s) => { s.links[0].loss = { p: 0.1 }; },
    field: "scenario.links.0.loss.plugin",
    says: ["is required", "Allowed: none, bernoulli"],
  },
  {
    what: "unknown workload plugin",
    change: (s) => { s.workloads[0].plugin = "http-flood"; },
    field: "scenario.workloads.0.plugin",
    says: ['unknown plugin "http-flood".', "Allowed: tcp-churn"],
  },
  {
    what: "misspelt workload plugin",
    change: (s) => { s.workloads[0].plugin = "tcp-chrun"; },
    field: "scenario.workloads.0.plugin",
    says: ['did you mean "tcp-churn"?'],
  },
  {
    what: "bernoulli p above 1",
    change: (s) => { s.links[0].loss = { plugin: "bernoulli", p: 1.5 }; },
    field: "scenario.links.0.loss.p",
    says: ["must be at most 1, got number 1.5"],
  },
  {
    what: "field that belongs to another loss plugin",
    change: (s) => { s.links[0].loss = { plugin: "bernoulli", p: 0.1, r: 0.5 }; },
    field: "scenario.links.0.loss.r",
    says: ["unknown field", "Allowed: plugin, p"],
  },
  {
    what: "duplicate IP across hosts",
    change: (s) => { s.hosts.server.ip = "10.0.0.1"; },
    field: "scenario.hosts.server.ip",
    says: ['address 10.0.0.1 is already used by host "client"'],
  },
  {
    what: "same IP twice on one host",
    change: (s) => { s.hosts.client.ip = ["10.0.0.1", "10.0.0.1"]; },
    field: "scenario.hosts.client.ip",
    says: ["address 10.0.0.1 is listed twice"],
  },
  {
    what: "bad IPv4 address",
    change: (s) => { s.hosts.client.ip = "10.0.0.256"; },
    field: "scenario.hosts.client.ip",
    says: ['"10.0.0.256" is not an IPv4 address like "10.0.0.1"'],
  },
  {
    what: "IP of the wrong type",
    change: (s) => { s.hosts.client.ip = 10; },
    field: "scenario.hosts.client.ip",
    says: ["expected an IPv4 address like \"10.0.0.1\" or a list of them, got number 10"],
  },
  {
    what: "workload between hosts with no link",
    change: (s) => { s.links = []; },
    field: "scenario.workloads.0.to",
    says: ['no link joins "client" and "server"', '"between": ["client", "server"]'],
  },
  {
    what: "host that is not an object",
    change: (s) => { s.hosts.client = null; },
    field: "scenario.hosts.client",
    says: ["expected an object, got null"],
  },
  {
    what: "hosts given as a list",
    change: (s) => { s.hosts = [s.hosts.client, s.hosts.server]; },
    field: "scenario.hosts",
    says: ["expected an object, got a list"],
  },
  {
    what: "no hosts at all",
    change: (s) => { s.hosts = {}; },
    field: "scenario.hosts",
    says: ["at least one host is needed"],
  },
  {
    what: "host name with a space",
    change: (s) => { s.hosts["web server"] = { ip: "10.0.0.3" }; },
    field: 'scenario.hosts."web server"',
    says: ['"web server" is not a valid name', "letters, digits"],
  },
  {
    what: "link with three ends",
    change: (s) => { s.links[0].between = ["client", "server", "client"]; },
    field: "scenario.links.0.between",
    says: ["must have at most 2 items, got 3"],
  },
  {
    what: "twReuse outside its values",
    change: (s) => { s.hosts.client.tcp = { twReuse: 3 }; },
    field: "scenario.hosts.client.tcp.twReuse",
    says: ["3 is not allowed. Allowed: 0, 1, 2"],
  },
  {
    what: "timestamps outside its values",
    change: (s) => { s.hosts.client.tcp = { timestamps: 2 as 0 }; },
    field: "scenario.hosts.client.tcp.timestamps",
    says: ["2 is not allowed. Allowed: 0, 1"],
  },
  {
    what: "syncookies outside its values",
    change: (s) => { s.hosts.server.tcp = { syncookies: 3 }; },
    field: "scenario.hosts.server.tcp.syncookies",
    says: ["3 is not allowed. Allowed: 0, 1, 2"],
  },
  {
    what: "an accept rate of zero",
    change: (s) => { s.hosts.server.listen[0].acceptRate = 0; },
    field: "scenario.hosts.server.listen.0.acceptRate",
    says: ["0.001"],
  },
  {
    what: "an accept rate on a UDP listener",
    change: (s) => { s.hosts.server.listen[0].protocol = "udp"; s.hosts.server.listen[0].acceptRate = 10; },
    field: "scenario.hosts.server.listen.0.acceptRate",
    says: ["applies to a tcp listener only"],
  },
  {
    what: "misspelt TCP state in a drop rule",
    change: (s) => { s.links[0].loss = { plugin: "drop", rules: [{ state: "TIMEWAIT" }] }; },
    field: "scenario.links.0.loss.rules.0.state",
    says: ['did you mean "TIME_WAIT"?'],
  },
  {
    what: "negative seed",
    change: (s) => { s.seed = -1; },
    field: "scenario.seed",
    says: ["must be at least 0, got number -1"],
  },
];

describe("planScenario rejects malformed scenarios with one line naming the field", () => {
  test("the base scenario is valid", () => {
    expect(() => planScenario(base())).not.toThrow();
  });

  test.each(cases)("$what -> $field", ({ change, field, says }) => {
    const s = base();
    change(s);
    const detail = expectFieldError(s, field);
    for (const want of says) {
      if (typeof want === "string") expect(detail).toContain(want);
      else expect(detail).toMatch(want);
    }
  });

  test.each([
    ["null", null, "got null"],
    ["an array", [], "got a list"],
    ["a string", "scenario.json", 'got string "scenario.json"'],
    ["undefined", undefined, "got undefined"],
  ])("a scenario that is %s is rejected at \"scenario\"", (_what, input, got) => {
    const detail = expectFieldError(input, "scenario");
    expect(detail).toMatch(/^expected an object with name, .*duration.*hosts, links, workloads/);
    expect(detail).toContain(got);
  });

  test("an unknown field is reported before the required field it hides", () => {
    // "durration" leaves "duration" missing too; the typo is the useful message.
    const s = base();
    s.durration = "10s";
    delete s.duration;
    s.workloads[0].rate = -1;
    expect(planError(s).field).toBe("scenario.durration");
  });
});

describe("planScenario on a valid scenario", () => {
  test("fills in the linux profile's defaults", () => {
    const plan = planScenario(base());
    expect(plan.name).toBe("validation");
    expect(plan.profile).toBe("linux");
    expect(plan.seed).toBe(1);
    expect(plan.duration).toBe(10_000_000);
    expect(plan.sample).toBe(100_000); // duration / 100 when not given
    expect(plan.trace).toBe(0);
    const client = plan.hosts.find((h) => h.name === "client")!;
    const server = plan.hosts.find((h) => h.name === "server")!;
    expect(client.ports).toEqual([32768, 60999]);
    expect(client.tcp.timeWait).toBe(60_000_000);
    expect(client.ips).toEqual([0x0a000001]);
    expect(server.listen).toEqual([{ port: 80, protocol: "tcp", backlog: 4096, start: 0, stop: 0, reuseAddr: false, bindRetry: 1e6, acceptInterval: 0 }]);
    expect(plan.links).toEqual([{ a: "client", b: "server", stream: 0, latencyAB: 1000, latencyBA: 1000, loss: undefined }]);
    expect(plan.workloads).toHaveLength(1);
    expect(plan.workloads[0]).toMatchObject({
      from: "client", to: "server", dstPort: 80, rate: 10, arrival: "poisson",
      request: 100, response: 1000, closer: "client", start: 0, stop: 0, count: 0, localPort: 0,
    });
  });

  test("given ports, knobs, profile and seed are used", () => {
    const s = base();
    s.profile = "rfc9293";
    s.seed = 42;
    s.hosts.client.ports = "40000-40999";
    s.hosts.client.tcp = { timeWait: "2s" };
    const plan = planScenario(s);
    const client = plan.hosts.find((h) => h.name === "client")!;
    const server = plan.hosts.find((h) => h.name === "server")!;
    expect(plan.seed).toBe(42);
    expect(client.ports).toEqual([40000, 40999]);
    expect(client.tcp.timeWait).toBe(2_000_000);
    expect(server.ports).toEqual([49152, 65535]);   // rfc9293's range
    expect(server.tcp.timeWait).toBe(240_000_000);  // 2 x MSL of 120 s
  });

  test("the seed override wins over the scenario's seed", () => {
    const s = base();
    s.seed = 5;
    expect(planScenario(s, { seed: 9 }).seed).toBe(9);
  });

  test("planScenario does not change its input", () => {
    const s = base();
    const before = JSON.stringify(s);
    planScenario(s);
    expect(JSON.stringify(s)).toBe(before);
  });
});

// planScenario checks the common fields without zod (quickScenario) and leaves anything
// else to zod. The two must agree: a scenario the quick check takes is one zod takes,
// with the same plan, and whatever it leaves goes to zod, whose messages are the ones
// above. Checked here on the examples and on every field of them changed to values of
// each kind, against the same scenarios checked by zod alone (an object whose prototype
// is not Object's never takes the quick path).
describe("the quick check and zod agree", () => {
  const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".json"))
    .map((f) => [f, JSON.parse(readFileSync(join(ROOT, "examples", f), "utf8")) as Json] as const);
  const startingPoints: (readonly [string, Json])[] = [["base", base()], ...examples];
  const byZod = (s: Json) => Object.assign(Object.create(Object.create(null)), s);
  const outcome = (s: unknown) => {
    try {
      return { plan: planScenario(s) };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };

  test("the common scenarios take the quick path", () => {
    expect(quickScenario(base())).toBeDefined();
    const quick = examples.filter(([, s]) => quickScenario(s)).map(([f]) => f);
    expect(quick).toEqual(expect.arrayContaining(["default.json", "flash-crowd.json", "reconnect-storm.json", "slow-accept.json", "tail-drop.json"]));
  });

  test.each(startingPoints)("%s: the same plan either way", (_f, s) => {
    expect(outcome(s)).toEqual(outcome(byZod(s)));
  });

  // Values of each kind, and edges of the ranges the quick check tests itself.
  const values: unknown[] = [undefined, null, true, 0, 1, -1, 1.5, 255, 65535, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER, 2 ** 53, NaN, Infinity,
    "", "x", "0s", "10s", "-1s", "1 sec", "1-2", "1000-2000", "2000-1000", "10.0.0.1", "10.0.0.256", "server:80", "server", "tcp", "udp", "linux", "first", "bind",
    [], ["10.0.0.3"], ["10.0.0.3", "bad"], ["client", "server"], ["1ms", "2ms"], ["1ms"], [1, 2, 3], {}, { plugin: "bernoulli", p: 0.1 }, { a: 1 }];
  /** Every path to a value in the scenario (objects' and lists' own too). */
  const paths = (node: unknown, at: (string | number)[] = []): (string | number)[][] =>
    node !== null && typeof node === "object"
      ? [at, ...Object.entries(node).flatMap(([k, v]) => paths(v, [...at, Array.isArray(node) ? Number(k) : k]))]
      : [at];
  const changed = (s: Json, path: (string | number)[], value: unknown, how: "set" | "delete" | "add") => {
    const copy = structuredClone(s);
    let node: any = copy;
    for (const k of path.slice(0, -1)) node = node[k];
    const last = path[path.length - 1];
    if (how === "delete") delete node[last];
    else if (how === "add") node[last] = { ...node[last], extra: value };
    else node[last] = value;
    return copy;
  };

  test.each(startingPoints.filter(([, s]) => quickScenario(s)))("%s with each field changed: the same outcome either way", (_f, s) => {
    let cases = 0;
    for (const path of paths(s).filter((p) => p.length > 0)) {
      const variants = [...values.map((v) => changed(s, path, v, "set")), changed(s, path, undefined, "delete")];
      const parent = path.slice(0, -1);
      if (!Array.isArray(parent.reduce((n: any, k) => n[k], s))) variants.push(changed(s, [...path.slice(0, -1), "extra"], 1, "set"));
      for (const v of variants) {
        cases++;
        expect(outcome(v), `${path.join(".")} -> ${JSON.stringify(v)}`).toEqual(outcome(byZod(v)));
      }
    }
    expect(cases).toBeGreaterThan(100);
  });
});
