// A scenario file's JSON as a user wrote it: a syntax error says where (line and
// column), and a key given twice in one object is refused (JSON.parse keeps the last
// silently, so the first of two "rate"s would be ignored without a word).

/** The parsed value, or a one-line reason naming the line and column, or the repeated key. */
export function parseJsonText(text: string): { value: unknown } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // V8 says "... at position N" (and quotes a snippet that may hold newlines); say where as an editor would.
    const message = (e as Error).message.replace(/\s+/g, " ").replace(/ \(line \d+ column \d+\)/, "");
    const at = /at position (\d+)/.exec(message);
    if (!text.trim()) return { error: "the file is empty" };
    const where = at ? lineColumn(text, Number(at[1])) : lineColumn(text, text.length);
    const reason = message.replace(/,? ?"[^"]*"\.\.\. is not valid JSON$/, "").replace(/ in JSON at position \d+$/, "").replace(/ at position \d+$/, "");
    return { error: `line ${where.line}, column ${where.column}: ${reason}` };
  }
  const repeated = repeatedKey(text);
  if (repeated) return { error: `line ${repeated.line}, column ${repeated.column}: ${repeated.path}: key ${JSON.stringify(repeated.key)} is given twice in one object` };
  return { value };
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** The first key repeated within one object of valid JSON `text`, with its path ("scenario.hosts.client"). */
function repeatedKey(text: string): { key: string; path: string; line: number; column: number } | undefined {
  let i = 0;
  const space = () => { while (/\s/.test(text[i] ?? "")) i++; };
  const string = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): ReturnType<typeof repeatedKey> => {
    space();
    if (text[i] === "{") {
      i++;
      const seen = new Set<string>();
      space();
      if (text[i] === "}") { i++; return undefined; }
      for (;;) {
        space();
        const at = i;
        const key = string();
        if (seen.has(key)) return { key, path, ...lineColumn(text, at) };
        seen.add(key);
        space();
        i++; // ':'
        const found = value(`${path}.${key}`);
        if (found) return found;
        space();
        if (text[i++] === "}") return undefined; // else ','
      }
    }
    if (text[i] === "[") {
      i++;
      space();
      if (text[i] === "]") { i++; return undefined; }
      for (let n = 0; ; n++) {
        const found = value(`${path}.${n}`);
        if (found) return found;
        space();
        if (text[i++] === "]") return undefined;
      }
    }
    if (text[i] === '"') { string(); return undefined; }
    while (i < text.length && !/[\s,\]}]/.test(text[i])) i++; // a number, true, false or null
    return undefined;
  };
  return value("scenario");
}
