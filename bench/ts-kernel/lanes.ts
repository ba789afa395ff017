// The merge of the kernel's lanes, as in assembly/lanes.ts: segments in flight (a queue
// per link direction), each host's TIME_WAIT FIFO and workload arrival streams, each a
// queue in due order and filed by one host (so in filing-number order too), with only
// each lane's first item ordered, in a binary min-heap of the lanes by (due time, filing
// number) (there 24-byte entries, here three columns).

// Room for a direction per net.ts MAX_DIRS, a host per MAX_HOSTS, a workload per apps.ts MAX_WORKLOADS.
export const FLIGHT_LANES = 4096;
export const TIME_WAIT_LANES = FLIGHT_LANES;
export const ARRIVAL_LANES = TIME_WAIT_LANES + 1024;
export const LANES = ARRIVAL_LANES + 1024;

let HAT = new Float64Array(0); let HORDER = new Float64Array(0); let HLANE = new Uint32Array(0);
let heapSize = 0;
/** The first item of all lanes (Infinity when every lane is empty) and its filing number. */
export let firstAt = Infinity;
export let firstOrder = 0;

export function lanesReset(): void {
  HAT = new Float64Array(LANES); HORDER = new Float64Array(LANES); HLANE = new Uint32Array(LANES);
  heapSize = 0; firstAt = Infinity; firstOrder = 0;
}
export function lanesBytes(): number { return HAT.byteLength * 2 + HLANE.byteLength; }

/** The lane whose item is first (firstAt). */
export function firstLane(): number { return HLANE[0]; }

/** An empty lane gets an item, due at `at` and filed as `order`. */
export function laneEnter(lane: number, at: number, order: number): void {
  let i = heapSize++;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const tp = HAT[parent];
    if (tp < at) break;
    if (tp === at && HORDER[parent] < order) break; // (numbers are per host: a tie goes either way)
    HAT[i] = HAT[parent]; HORDER[i] = HORDER[parent]; HLANE[i] = HLANE[parent];
    i = parent;
  }
  HAT[i] = at; HORDER[i] = order; HLANE[i] = lane;
  if (i === 0) { firstAt = at; firstOrder = order; }
}

/** The first lane (`lane`, which its caller knows) had its first item taken; its next item is due at `at`, filed as `order`. */
export function laneNext(lane: number, at: number, order: number): void { siftFirst(at, order, lane); }

/** The first lane's last item was taken: the lane leaves the heap. */
export function laneLeave(): void {
  if (--heapSize === 0) { firstAt = Infinity; return; }
  siftFirst(HAT[heapSize], HORDER[heapSize], HLANE[heapSize]);
}

/** (at, order, lane) goes into the root's place and down to where it belongs. */
function siftFirst(at: number, order: number, lane: number): void {
  let i = 0;
  while (true) {
    let c = 2 * i + 1;
    if (c >= heapSize) break;
    if (c + 1 < heapSize && (HAT[c + 1] < HAT[c] || (HAT[c + 1] === HAT[c] && HORDER[c + 1] < HORDER[c]))) c++;
    const tc = HAT[c];
    if (tc > at || (tc === at && HORDER[c] > order)) break;
    HAT[i] = tc; HORDER[i] = HORDER[c]; HLANE[i] = HLANE[c];
    i = c;
  }
  HAT[i] = at; HORDER[i] = order; HLANE[i] = lane;
  firstAt = HAT[0]; firstOrder = HORDER[0];
}
