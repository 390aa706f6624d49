// DOM building for the console. Everything shown from the API is attacker-influenced (node ids, reasons,
// claims): it only ever becomes text nodes or attribute values set through setAttribute, never HTML.
// There is deliberately no helper that parses markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) { append(node, c); continue; }
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) throw new Error('event handlers are attached with addEventListener, not attributes');
    if (k === 'href' && !String(v).startsWith('#')) throw new Error('console links stay inside the console');
    node.setAttribute(k, v === true ? '' : String(v));
  }
  return node;
}

/** An HTML element: el('td', {class: 'x'}, 'text', child). */
export function el(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

/** An SVG element. */
export function svg(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** A table from a header row and rows of cells (a cell is text, a Node, or {text|node, class}). */
export function table(headers, rows, rowAttrs) {
  return el('table', {},
    el('thead', {}, el('tr', {}, headers.map(h => el('th', {}, h)))),
    el('tbody', {}, rows.map((r, i) => el('tr', rowAttrs ? rowAttrs(i) : {}, r.map(cell => {
      if (cell !== null && typeof cell === 'object' && !(cell instanceof Node) && !Array.isArray(cell)) {
        return el('td', { class: cell.class }, cell.node ?? cell.text ?? '');
      }
      return el('td', {}, cell ?? '');
    })))));
}

export function button(label, onClick, attrs) {
  const b = el('button', Object.assign({ type: 'button' }, attrs || {}), label);
  b.addEventListener('click', onClick);
  return b;
}

/** A link to a console route: link('#/nodes/' + encodeURIComponent(id), id). */
export function link(hash, text) {
  return el('a', { href: hash }, text);
}

/** Shows an API error (or any error) in `where`, as text. */
export function showError(where, e) {
  clear(where);
  where.appendChild(el('p', { class: 'error' }, e && e.message ? e.message : String(e)));
}
