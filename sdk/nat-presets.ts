// Cloud NAT presets: a NAT host's `preset` sets its port range, conntrack timeouts and
// mechanisms as each product documents them. Each is a set of values of the engine's
// NAT mechanisms (port range, timeouts, TIME_WAIT takeover, per-host port blocks, an
// RST for a flow the gateway dropped), never a branch of its own. Only what changes
// where ports run out is modelled; where the vendor does not say, the assumption is
// stated beside the value. Sources were read on 2026-12-02 (docs/nat.md lists them).
// This module imports nothing, so the scenario checks and the reports share it.

/** Timeouts in seconds, named as a NAT's `timeouts` field names them. */
export type NatTimeoutName = "synSent" | "synRecv" | "established" | "finWait" | "closeWait" | "lastAck" | "timeWait" | "close" | "udp" | "udpStream";

export interface NatPreset {
  /** The product, for the summary. */
  product: string;
  ports: [number, number];
  timeouts: Partial<Record<NatTimeoutName, number>>;
  /** false: a closed flow keeps its public port until its TIME_WAIT or CLOSE timeout ends. */
  takeover: boolean;
  /** true: an inside host's TCP packet for a flow the gateway no longer has is answered with an RST. */
  resetUnknown: boolean;
  /** "whole range": any free port is found (the vendor documents a count, not Linux's random runs). */
  portSearch: "linux" | "whole range";
  /** Ports per inside host (a per-VM block), from the number of inside hosts and public addresses; absent: the whole range is shared. */
  portsPerHost?: (insideHosts: number, addresses: number) => number;
}

/**
 * AWS NAT gateway.
 * - "NAT gateways support up to 55,000 simultaneous connections to each destination";
 *   new connections beyond fail and ErrorPortAllocation grows; secondary addresses
 *   (up to 8) add ports. https://repost.aws/knowledge-center/vpc-resolve-port-allocation-errors
 *   and https://repost.aws/knowledge-center/vpc-troubleshoot-nat-gateway-connection
 *   (read 2026-12-02). Modelled as 55,000 ports per address (1024-56023), endpoint-
 *   dependent: 55,000 flows per address and destination. Which ports AWS uses is not
 *   said (its network ACL advice names 1024-65535), nor how it picks one: a SYN finds
 *   any free port (portSearch "whole range"), so the 55,000th flow still gets one.
 * - Idle timeout 350 s; a packet sent on a timed-out connection from inside gets an RST
 *   (not a FIN). AWS's NAT gateway basics page says so
 *   (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html); read here
 *   as quoted by https://cloudnetworking.pro/cloud-nat-timeouts-demystified (2026-12-02).
 *   Modelled: every TCP timeout is at most 350 s, resetUnknown.
 * - Not said: how long a closed connection's port stays unusable toward the same
 *   destination, and whether a SYN may take over a closing flow. Assumed: no takeover,
 *   Linux's conntrack TIME_WAIT (120 s) and CLOSE (10 s) timeouts. UDP keeps Linux's.
 */
const aws: NatPreset = {
  product: "AWS NAT gateway",
  ports: [1024, 56023],
  timeouts: { synSent: 120, synRecv: 60, established: 350, finWait: 120, closeWait: 60, lastAck: 30, timeWait: 120, close: 10 },
  takeover: false,
  resetUnknown: true,
  portSearch: "whole range",
};

/**
 * Google Cloud NAT (public NAT, static port allocation, the default).
 * - Each NAT address has 64,512 ports (1024-65535); each VM gets a block of
 *   minPortsPerVm ports, 64 by default, and needs a port of its block for each
 *   concurrent connection to one destination (address, port, protocol); different
 *   destinations share a port. https://cloud.google.com/nat/docs/ports-and-addresses
 *   (read 2026-12-02). A VM's 65th flow to one destination fails (OUT_OF_RESOURCES).
 * - Timeouts: TCP established idle 1200 s, TCP transitory 30 s, UDP 30 s, TCP TIME_WAIT:
 *   the port stays reserved after the connection closes. TIME_WAIT's default was 120 s;
 *   Google's release note of 2026-03-31 lowers it to 30 s for gateways created on or
 *   after 2026-09-30 (older gateways keep 120 s: set `timeouts.timeWait` to "120s").
 *   https://cloud.google.com/nat/docs/tune-nat-configuration#nat-timeouts, read as quoted
 *   by https://oneuptime.com/blog/post/2026-02-17-how-to-configure-cloud-nat-timeout-values-for-long-lived-tcp-connections-in-gcp/view
 *   and https://cloudscoop.io/updates/gcp-2026-03-31-cloud-nat-announcement-the-default-tcp-time-wait-t (2026-12-02).
 *   Modelled: transitory for SYN_SENT, SYN_RECV, FIN_WAIT, CLOSE_WAIT, LAST_ACK and CLOSE;
 *   no takeover (the TIME_WAIT timeout is the reservation).
 * - Endpoint-independent mapping (on by default with static allocation) keeps one NAT
 *   port per VM source port across destinations; connsim picks a port per flow within
 *   the VM's block, which gives the same count per destination. Not modelled: dynamic
 *   port allocation, automatic addresses (a VM beyond the addresses' blocks is a
 *   scenario error here). A timed-out flow's packets are dropped without an RST (not
 *   said by Google; the quoted page says so).
 */
const gcp: NatPreset = {
  product: "Google Cloud NAT",
  ports: [1024, 65535],
  timeouts: { synSent: 30, synRecv: 30, established: 1200, finWait: 30, closeWait: 30, lastAck: 30, timeWait: 30, close: 30, udp: 30, udpStream: 30 },
  takeover: false,
  resetUnknown: false,
  portSearch: "whole range",
  portsPerHost: () => 64,
};

/**
 * Azure Load Balancer outbound SNAT with default port allocation.
 * - Each frontend address gives 64,000 ports for SNAT; each backend instance gets ports
 *   by pool size: 1-50 instances 1,024, 51-100 512, 101-200 256, 201-400 128,
 *   401-800 64, 801-1,000 32; per frontend address, at most 1,024 in all. A TCP flow
 *   needs its own port per destination address and port (endpoint-dependent).
 *   https://learn.microsoft.com/en-us/azure/load-balancer/load-balancer-outbound-connections
 *   (read 2026-12-02, with its history of that table in MicrosoftDocs/azure-docs).
 * - Idle timeout 4 minutes (outbound rules' default); at the timeout the flow is dropped
 *   silently (TCP reset on idle is opt-in).
 *   https://learn.microsoft.com/en-us/azure/load-balancer/load-balancer-tcp-reset (2026-12-02).
 * - Not said (for the load balancer; NAT Gateway has reuse timers): how long after a
 *   close the port may serve the same destination again. Assumed: no takeover, Linux's
 *   conntrack TIME_WAIT (120 s) and CLOSE (10 s) timeouts. UDP keeps Linux's (its
 *   port-restricted cone mapping is not modelled).
 */
const azure: NatPreset = {
  product: "Azure Load Balancer SNAT",
  ports: [1024, 65023],
  timeouts: { established: 240 },
  takeover: false,
  resetUnknown: false,
  portSearch: "whole range",
  portsPerHost: (pool, addresses) => Math.min(1024, addresses * azurePortsPerAddress(pool)),
};

/** Azure's default port allocation per backend instance and frontend address, by pool size (0 beyond the table). */
export function azurePortsPerAddress(pool: number): number {
  for (const [most, ports] of [[50, 1024], [100, 512], [200, 256], [400, 128], [800, 64], [1000, 32]]) if (pool <= most) return ports;
  return 0;
}

export const NAT_PRESETS: Record<string, NatPreset> = {
  "aws-nat-gateway": aws,
  "gcp-cloud-nat": gcp,
  "azure-lb-snat": azure,
};
