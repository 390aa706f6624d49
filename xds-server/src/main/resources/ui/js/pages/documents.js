// Policies and registrations: read each document, edit a proposed change, see its line diff against the
// document in force, and apply it (operators; PUT /api/v1/<kind>/<id>, the server validates it all).

import { call, get } from '../api.js';
import { el, clear, table, button } from '../dom.js';

function page(kind, title, describe) {
  async function render(container, ctx) {
    const items = await get('/api/v1/' + kind);
    clear(container);
    container.append(el('h2', {}, title));
    container.append(table(['id', 'version', 'summary'], items.map(i => [i.id, String(i.version), describe(i)])));
    for (const item of items) container.append(editor(kind, item, ctx, () => render(container, ctx)));
  }
  return { render, refresh: async (container, ctx) => {
    // Keep a proposed change being edited: refresh only when no editor holds unsaved text.
    if ([...container.querySelectorAll('textarea')].some(t => t.value !== t.dataset.original)) return;
    await render(container, ctx);
  } };
}

function editor(kind, item, ctx, reload) {
  const box = el('div', { class: 'document', 'data-id': item.id });
  const text = el('textarea', { class: 'proposed', spellcheck: 'false' });
  text.value = item.document || '';
  text.dataset.original = item.document || '';
  const out = el('div', { class: 'diff-out' });
  box.append(el('h3', {}, item.id + ' (version ' + item.version + ')'), text,
    button('Diff', () => { clear(out); out.append(diffView(item.document || '', text.value)); }, { class: 'diff-button' }));
  if (ctx.canWrite) {
    box.append(button('Apply', () => {
      clear(out);
      out.append(diffView(item.document || '', text.value), el('div', { class: 'confirm' }, 'Apply this change to ' + item.id + '? ',
        button('Confirm apply', async () => {
          try {
            await call('PUT', '/api/v1/' + kind + '/' + encodeURIComponent(item.id), text.value, 'application/yaml');
            await reload();
          } catch (e) { out.append(el('p', { class: 'error' }, e.message)); }
        }, { class: 'confirm-apply' })));
    }, { class: 'apply-button' }));
  }
  box.append(out);
  return box;
}

/** A line diff (longest common subsequence), as text lines prefixed '+', '-' or ' '. */
export function diffLines(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  if (x.length * y.length > 4000000) return [['!', 'documents too large to diff here']];
  const m = x.length, n = y.length;
  const l = Array.from({ length: m + 1 }, () => new Int32Array(n + 1));
  for (let i = m - 1; i >= 0; i--) for (let j = n - 1; j >= 0; j--) {
    l[i][j] = x[i] === y[j] ? l[i + 1][j + 1] + 1 : Math.max(l[i + 1][j], l[i][j + 1]);
  }
  const out = [];
  let i = 0, j = 0;
  while (i < m && j < n) {
    if (x[i] === y[j]) { out.push([' ', x[i]]); i++; j++; }
    else if (l[i + 1][j] >= l[i][j + 1]) out.push(['-', x[i++]]);
    else out.push(['+', y[j++]]);
  }
  while (i < m) out.push(['-', x[i++]]);
  while (j < n) out.push(['+', y[j++]]);
  return out;
}

function diffView(a, b) {
  const lines = diffLines(a, b);
  if (lines.every(([k]) => k === ' ')) return el('p', {}, 'No change.');
  return el('pre', { class: 'diff' }, lines.map(([k, t]) =>
    el('span', { class: k === '+' ? 'diff-add' : k === '-' ? 'diff-del' : '' }, k + ' ' + t + '\n')));
}

export const policies = page('policies', 'Policies', p => 'TEEs: ' + (p.tees || []).join(', '));
export const registrations = page('registrations', 'Registrations', r => r.spiffeId + ' needs ' + (r.policies || []).join(', '));
