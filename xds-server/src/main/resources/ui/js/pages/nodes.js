// Nodes: a filtered, paged table (GET /api/v1/nodes with state, tee, policy, registration, expiringBefore,
// offset, limit; the page is described by X-Total-Count and X-Next-Offset), revocation for operators, and
// one node in detail: appraisal rule by rule, claims, certificate, registration, xDS sync per type, config dump.

import { call, get } from '../api.js';
import { el, clear, table, button, link, showError } from '../dom.js';

const PAGE = 50;
const query = { state: '', tee: '', policy: '', registration: '', expiringBefore: '', offset: 0 };

export async function render(container, ctx, nodeId) {
  if (nodeId !== null && nodeId !== undefined && nodeId !== '') return renderDetail(container, ctx, nodeId);
  clear(container);
  container.append(el('h2', {}, 'Nodes'), filters(container, ctx), el('div', { id: 'node-list' }));
  await refresh(container, ctx, nodeId);
}

export async function refresh(container, ctx, nodeId) {
  if (nodeId) return renderDetail(container, ctx, nodeId);
  const where = container.querySelector('#node-list');
  const p = new URLSearchParams();
  for (const k of ['state', 'tee', 'policy', 'registration', 'expiringBefore']) if (query[k]) p.set(k, query[k]);
  p.set('offset', String(query.offset));
  p.set('limit', String(PAGE));
  let r;
  try {
    r = await call('GET', '/api/v1/nodes?' + p.toString());
  } catch (e) {
    showError(where, e);
    return;
  }
  const total = Number(r.headers.get('X-Total-Count') || r.body.length);
  const next = r.headers.get('X-Next-Offset');
  clear(where);
  const rows = (r.body || []).map(n => [
    { node: link('#/nodes/' + encodeURIComponent(n.nodeId), n.nodeId), class: 'node-id' },
    n.tee, { text: n.state, class: 'state' }, n.stateReason, (n.satisfiedPolicies || []).map(x => x.id + (x.current ? '' : ' (old)')).join(', '),
    n.registration, n.certificateNotAfter, xdsSummary(n.xds),
    ctx.canWrite && n.state !== 'REVOKED' ? { node: revokeControl(where, n.nodeId) } : '']);
  where.append(
    table(['node', 'TEE', 'state', 'reason', 'policies', 'registration', 'certificate not after', 'xDS', ctx.canWrite ? 'action' : ''],
      rows, i => ({ class: 'node-row state-' + r.body[i].state, 'data-node-id': r.body[i].nodeId })),
    el('p', {}, 'Nodes ' + (r.body.length ? query.offset + 1 : 0) + '-' + (query.offset + r.body.length) + ' of ' + total + ' '),
    query.offset > 0 ? button('Previous page', () => { query.offset = Math.max(0, query.offset - PAGE); refresh(container, ctx); }, { id: 'prev-page' }) : '',
    next ? button('Next page', () => { query.offset = Number(next); refresh(container, ctx); }, { id: 'next-page' }) : '');
}

function xdsSummary(xds) {
  const counts = {};
  for (const s of Object.values(xds || {})) counts[s.state] = (counts[s.state] || 0) + 1;
  return Object.entries(counts).map(([k, v]) => k + ' ' + v).join(', ');
}

function filters(container, ctx) {
  const form = el('form', { class: 'filters', id: 'node-filters' });
  const sel = (name, options) => el('select', { name }, options.map(o => el('option', { value: o }, o || 'any')));
  const inp = (name, placeholder) => el('input', { name, placeholder, value: query[name] });
  form.append(
    el('label', {}, 'State ', sel('state', ['', 'ATTESTED', 'REVOKED', 'EXPIRED'])),
    el('label', {}, 'TEE ', sel('tee', ['', 'sgx', 'tdx', 'snp', 'az-snp-vtpm', 'sim'])),
    el('label', {}, 'Policy ', inp('policy', 'policy id')),
    el('label', {}, 'Registration ', inp('registration', 'registration id')),
    el('label', {}, 'Expiring before ', inp('expiringBefore', '2026-01-31T12:00:00Z')),
    el('button', { type: 'submit', id: 'apply-filters' }, 'Filter'));
  form.elements.state.value = query.state;
  form.elements.tee.value = query.tee;
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    for (const k of ['state', 'tee', 'policy', 'registration', 'expiringBefore']) query[k] = form.elements[k].value.trim();
    query.offset = 0;
    refresh(container, ctx);
  });
  return form;
}

// Revocation asks for a reason and a second, explicit confirmation before anything is sent.
function revokeControl(where, nodeId) {
  const box = el('span', { class: 'revoke' });
  box.append(button('Revoke', () => {
    clear(box);
    const reason = el('input', { class: 'revoke-reason', placeholder: 'reason', maxlength: '1024' });
    box.append(el('div', { class: 'confirm' }, 'Revoke ', el('strong', {}, nodeId), '? It is refused on its next connection. ',
      reason,
      button('Confirm revoke', async () => {
        try {
          await call('POST', '/api/v1/revocations', { kind: 'node', value: nodeId, reason: reason.value || 'revoked from the console' });
        } catch (e) { box.append(el('span', { class: 'error' }, e.message)); }
      }, { class: 'confirm-revoke' }),
      button('Cancel', () => { clear(box); box.append(revokeControl(where, nodeId)); })));
  }, { class: 'revoke-button' }));
  return box;
}

async function renderDetail(container, ctx, nodeId) {
  const d = await get('/api/v1/nodes/' + encodeURIComponent(nodeId));
  const n = d.node;
  clear(container);
  container.append(
    el('h2', {}, 'Node ', el('span', { id: 'node-title' }, n.nodeId)),
    link('#/nodes', 'All nodes'),
    table(['field', 'value'], [
      ['state', { text: n.state, class: 'state' }], ['reason', n.stateReason], ['SPIFFE ID', n.spiffeId], ['TEE', n.tee],
      ['measurement', n.measurement], ['registration', n.registration], ['attested at', n.attestedAt],
      ['evidence expires', n.evidenceExpiresAt], ['certificate serial', n.certificateSerial],
      ['certificate not after', n.certificateNotAfter], ['insecure (simulated)', String(n.insecure)],
      ['Kubernetes', n.kubernetes ? n.kubernetes.namespace + '/' + n.kubernetes.serviceAccount + ' pod ' + n.kubernetes.podUid : '']],
      i => i === 0 ? { class: 'state-' + n.state } : {}),
    el('h3', {}, 'Appraisal now, rule by rule'),
    el('div', { id: 'appraisal' }, ((d.latestAppraisal || {}).policies || []).map(p => [
      el('h4', {}, p.policyId + ' v' + p.version + ': ' + (p.satisfied ? 'satisfied' : 'NOT satisfied')),
      table(['rule', 'result', 'observed', 'expected'], (p.rules || []).map(r =>
        [r.rule, { text: r.passed ? 'pass' : 'fail', class: r.passed ? 'pass' : 'fail' }, r.observed, r.expected]))])),
    el('h3', {}, 'Claims in the certificate'),
    table(['claim', 'value'], [
      ['TEE', d.claims.tee], ['TCB status', d.claims.tcbStatus], ['advisories', (d.claims.advisoryIds || []).join(', ')],
      ['policies', (d.claims.policies || []).map(p => p.id + ' v' + p.version + (p.current ? '' : ' (old)')).join(', ')],
      ['evidence SHA-256', d.claims.evidenceSha256], ['attested at', d.claims.attestedAt],
      ['insecure', String(d.claims.insecure)], ['debug', String(d.claims.debug)]]
      .concat(Object.entries(d.claims.measurements || {}).map(([k, v]) => ['measurement ' + k, v]))),
    el('h3', {}, 'xDS sync per type'),
    table(['type', 'state', 'sent', 'acked', 'NACK detail', 'sent at', 'answered at'],
      Object.entries(n.xds || {}).map(([t, s]) => [t, s.state, s.sentVersion, s.ackedVersion, s.nackDetail || '', s.sentAt || '', s.answeredAt || ''])),
    el('h3', {}, 'Certificate chain'),
    el('pre', { id: 'cert-chain' }, d.certificateChainPem));
  const dump = el('pre', { id: 'config-dump' });
  container.append(el('h3', {}, 'Config dump'), button('Load config dump', async () => {
    try {
      const r = await call('GET', '/api/v1/nodes/' + encodeURIComponent(nodeId) + '/config-dump');
      dump.textContent = JSON.stringify(r.body, null, 2);
    } catch (e) { dump.textContent = e.message; }
  }, { id: 'load-dump' }), dump);
}
