// The scenario editor: a textarea over a mirror of its text (the mirror draws the mark
// under a field the check names), with line numbers in a gutter. Plain DOM: no editor
// library, so the page stays a few static files.

import type { Spot } from "./locate.js";

export class JsonEditor {
  readonly root: HTMLElement;
  readonly area: HTMLTextAreaElement;
  private readonly gutter: HTMLElement;
  private readonly mirror: HTMLElement;
  private spot?: Spot;

  constructor(onInput: (text: string) => void) {
    this.root = el("div", "editor");
    this.gutter = el("div", "gutter");
    this.gutter.setAttribute("aria-hidden", "true");
    const body = el("div", "editor-body");
    this.mirror = el("pre", "mirror");
    this.mirror.setAttribute("aria-hidden", "true");
    this.area = document.createElement("textarea");
    this.area.id = "scenario";
    this.area.spellcheck = false;
    this.area.setAttribute("autocapitalize", "off");
    this.area.setAttribute("autocomplete", "off");
    this.area.setAttribute("aria-label", "scenario JSON");
    this.area.wrap = "off";
    body.append(this.mirror, this.area);
    this.root.append(this.gutter, body);
    this.area.addEventListener("input", () => { this.render(); onInput(this.area.value); });
    this.area.addEventListener("scroll", () => this.sync());
    this.area.addEventListener("keydown", (e) => {
      if (e.key !== "Tab" || e.shiftKey || e.ctrlKey || e.metaKey || e.altKey) return; // Shift+Tab still leaves the editor
      e.preventDefault();
      this.area.setRangeText("  ", this.area.selectionStart, this.area.selectionEnd, "end");
      this.render();
      onInput(this.area.value);
    });
  }

  get text(): string { return this.area.value; }

  set text(value: string) {
    this.area.value = value;
    this.spot = undefined;
    this.render();
  }

  /** Marks a range (the field a message names), or clears the mark. */
  mark(spot: Spot | undefined): void {
    this.spot = spot;
    this.render();
  }

  /** Puts the caret at the mark and scrolls it into view. */
  reveal(): void {
    if (!this.spot) return;
    this.area.focus();
    this.area.setSelectionRange(this.spot.from, this.spot.to);
    const lineHeight = parseFloat(getComputedStyle(this.area).lineHeight) || 18;
    this.area.scrollTop = Math.max(0, (this.spot.line - 3) * lineHeight);
    this.sync();
  }

  private render(): void {
    const text = this.area.value;
    const lines = text.split("\n").length;
    const errorLine = this.spot?.line;
    const numbers: string[] = [];
    for (let i = 1; i <= lines; i++) numbers.push(i === errorLine ? `<span class="bad">${i}</span>` : String(i));
    this.gutter.innerHTML = numbers.join("\n") + "\n";
    this.mirror.textContent = "";
    if (this.spot) {
      const { from, to } = this.spot;
      const mark = document.createElement("mark");
      mark.className = "field-error";
      mark.textContent = text.slice(from, Math.max(to, from + 1)) || " ";
      this.mirror.append(text.slice(0, from), mark, text.slice(Math.max(to, from + 1)));
    } else {
      this.mirror.append(text);
    }
    this.mirror.append("\n"); // a last empty line keeps its height
    this.sync();
  }

  private sync(): void {
    this.mirror.scrollTop = this.area.scrollTop;
    this.mirror.scrollLeft = this.area.scrollLeft;
    this.gutter.scrollTop = this.area.scrollTop;
  }
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
