// Overview: nodes by TEE and state, policies and how many nodes satisfy them, certificates expiring soon,
// the latest refused attestations with their reasons, and the xDS sync summary (GET /api/v1/overview).

import { get } from '../api.js';
import { el, clear, table, link } from '../dom.js';

export async function render(container, ctx) {
  const o = await get('/api/v1/overview');
  clear(container);
  const states = ['ATTESTED', 'REVOKED', 'EXPIRED'];
  container.append(
    el('h2', {}, 'Overview'),
    el('div', { class: 'cards' },
      el('div', { class: 'card' }, el('h3', {}, 'Nodes: ' + o.nodes),
        table(['TEE'].concat(states), Object.entries(o.byTeeAndState || {}).map(([tee, byState]) =>
          [tee].concat(states.map(s => String(byState[s] || 0)))))),
      el('div', { class: 'card' }, el('h3', {}, 'Policies'),
        table(['policy', 'version', 'nodes satisfying'], (o.policies || []).map(p => [p.id, String(p.version), String(p.nodes)]))),
      el('div', { class: 'card' }, el('h3', {}, 'xDS sync'),
        table(['state', '(node, type) pairs'], Object.entries(o.xdsStates || {}).map(([s, n]) => [s, String(n)])))),
    el('h3', {}, 'Certificates expiring before ' + o.expiringBefore + ' (' + o.expiringCount + ')'),
    table(['node', 'TEE', 'not after'], (o.expiringSoon || []).map(e =>
      [{ node: link('#/nodes/' + encodeURIComponent(e.nodeId), e.nodeId) }, e.tee, e.certificateNotAfter])),
    el('h3', {}, 'NACKed xDS'),
    table(['node', 'type', 'detail'], (o.nacks || []).map(n => [n.nodeId, n.typeUrl, n.detail || ''])),
    el('h3', {}, 'Recent refused attestations'),
    table(['time', 'node id (as sent)', 'TEE', 'status', 'reason'], (o.recentRefusals || []).map(r =>
      [r.at, r.nodeId, r.tee, r.status, r.reason]), () => ({ class: 'refusal' })));
}

export const refresh = render;
