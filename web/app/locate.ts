// Where a scenario field is in the JSON text the user typed: a ScenarioError names a
// field ("scenario.hosts.client.ip"), the editor marks it. The text is valid JSON
// here (parseJsonText passed), so this reader only records where each value is.

interface Node { start: number; end: number; keyStart?: number; keyEnd?: number; kids?: Map<string, Node> | Node[] }

/** A range [from, to) of the text and its line and column (1-based), for an editor mark. */
export interface Spot { from: number; to: number; line: number; column: number }

function read(text: string): Node {
  let i = 0;
  const space = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): Node => {
    space();
    const start = i;
    if (text[i] === "{") {
      i++;
      const kids = new Map<string, Node>();
      space();
      if (text[i] === "}") { i++; return { start, end: i, kids }; }
      for (;;) {
        space();
        const keyStart = i;
        const key = string();
        const keyEnd = i;
        space();
        i++; // ':'
        const v = value();
        kids.set(key, { ...v, keyStart, keyEnd });
        space();
        if (text[i++] === "}") return { start, end: i, kids };
      }
    }
    if (text[i] === "[") {
      i++;
      const kids: Node[] = [];
      space();
      if (text[i] === "]") { i++; return { start, end: i, kids }; }
      for (;;) {
        kids.push(value());
        space();
        if (text[i++] === "]") return { start, end: i, kids };
      }
    }
    if (text[i] === '"') { string(); return { start, end: i }; }
    while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
    return { start, end: i };
  };
  return value();
}

/** A field's path as ScenarioError writes it: dot-separated, a key with odd characters JSON-quoted. */
function steps(field: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < field.length;) {
    if (field[i] === '"') {
      let j = i + 1;
      while (j < field.length && field[j] !== '"') j += field[j] === "\\" ? 2 : 1;
      out.push(JSON.parse(field.slice(i, j + 1)) as string);
      i = j + 2;
    } else {
      const j = field.indexOf(".", i);
      out.push(field.slice(i, j < 0 ? field.length : j));
      i = j < 0 ? field.length : j + 1;
    }
  }
  return out;
}

/**
 * The text of `field` ("scenario.hosts.client.ip"): the key and value when it is there,
 * else the key of the nearest enclosing field that is (a required field that is
 * missing is marked at its object). A key holding dots ("web.1") is matched whole.
 */
export function locateField(text: string, field: string): Spot | undefined {
  let root: Node;
  try {
    root = read(text);
  } catch {
    return undefined;
  }
  const parts = steps(field);
  if (parts[0] !== "scenario") return undefined;
  let node = root;
  let k = 1;
  while (k < parts.length) {
    const kids = node.kids;
    let next: Node | undefined;
    let used = 1;
    if (Array.isArray(kids)) next = /^\d+$/.test(parts[k]) ? kids[Number(parts[k])] : undefined;
    else if (kids) {
      // The longest run of steps that is one key: host names may hold dots.
      for (let n = parts.length - k; n >= 1 && !next; n--) {
        const key = parts.slice(k, k + n).join(".");
        if (kids.has(key)) { next = kids.get(key); used = n; }
      }
    }
    if (!next) break;
    node = next;
    k += used;
  }
  const from = node.keyStart ?? node.start;
  // A key and a short value are marked together; a long object or list by its key (or its opening line).
  const to = node.end - from <= 80 ? node.end : node.keyEnd ?? Math.min(node.end, from + 1);
  const before = text.slice(0, from);
  const line = before.split("\n").length;
  return { from, to, line, column: from - before.lastIndexOf("\n") };
}

/** "line 3, column 7: ..." as parseJsonText writes a syntax error: where it is. */
export function syntaxSpot(text: string, message: string): Spot | undefined {
  const m = /^line (\d+), column (\d+)/.exec(message);
  if (!m) return undefined;
  const line = Number(m[1]), column = Number(m[2]);
  const lines = text.split("\n");
  let from = 0;
  for (let l = 0; l < line - 1 && l < lines.length; l++) from += lines[l].length + 1;
  from = Math.min(text.length, from + column - 1);
  return { from, to: Math.min(text.length, from + 1), line, column };
}
