// The engine benchmarks' workload, one definition for bench/run.mjs and bench/ab.mjs so
// an A/B of two builds measures what the README's figures measure.
//
// 20,000 connections/s from a client with 64,512 ephemeral ports; the client closes
// first and its TIME_WAIT is 2 s, so about 40,000 ports are held at any time and no
// connect() fails. Poisson arrivals, 100-byte request, 1000-byte response, 500 us each
// way: 8 segments and 10 events per connection.
export const RATE = 20_000;

/** The churn scenario at `connections` connections. */
export function churnScenario(connections) {
  return {
    name: "bench-churn", seed: 1,
    duration: `${connections / RATE + 2}s`, sample: "100ms",
    hosts: {
      // Sequential ports, as before profiles had their own allocators: with 40,000 of 64,512
      // ports held, Linux's allocator scans past the busy ones on each connect() (as the
      // kernel does), a cost of its own that would swamp the event path measured here.
      client: { ip: "10.0.0.1", ports: "1024-65535", portAllocator: "sequential", tcp: { timeWait: "2s" } },
      server: { ip: "10.0.0.2", listen: [{ port: 80 }] },
    },
    links: [{ between: ["client", "server"], latency: "500us" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: RATE, arrival: "poisson",
      request: 100, response: 1000, closer: "client", count: connections }],
  };
}

/** The warm-up run before timing (Liftoff -> TurboFan): 100,000 connections of the same scenario. */
export function warmScenario(scenario) {
  return { ...scenario, duration: "7s", workloads: [{ ...scenario.workloads[0], count: 100_000 }] };
}
