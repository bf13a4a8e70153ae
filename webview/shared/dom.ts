// DOM helpers the pages share. Workspace strings go in through textContent and attribute values, never markup.

/** An element with attributes and (optionally) its text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A <label> reading `text` around its inputs. */
export function labelled(text: string, ...inputs: HTMLElement[]): HTMLLabelElement {
  const l = el('label', {}, text);
  l.append(...inputs);
  return l;
}

/** An element by id (the page built it). */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

export const SVG_NS = 'http://www.w3.org/2000/svg';
/** An SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
