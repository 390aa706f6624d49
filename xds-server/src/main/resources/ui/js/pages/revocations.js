// Revocations: the rules in force; operators add one or lift one, each after an explicit confirmation.

import { call, get } from '../api.js';
import { el, clear, table, button } from '../dom.js';

const KINDS = ['node', 'measurement', 'policy', 'tcb-status', 'advisory', 'registration', 'platform'];

export async function render(container, ctx) {
  const rules = await get('/api/v1/revocations');
  clear(container);
  container.append(el('h2', {}, 'Revocations'));
  const status = el('div', { id: 'revocation-status' });
  container.append(table(['id', 'kind', 'value', 'reason', 'by', 'at', ctx.canWrite ? 'action' : ''], rules.map(r =>
    [r.id, r.kind, r.value, r.reason, r.createdBy, r.createdAt, ctx.canWrite ? { node: liftControl(r, status) } : ''])), status);
  if (ctx.canWrite) container.append(addForm(status));
}

function liftControl(rule, status) {
  const box = el('span', {});
  box.append(button('Lift', () => {
    clear(box);
    box.append(el('span', { class: 'confirm' }, 'Lift this rule? Its nodes must attest again. ',
      button('Confirm lift', async () => {
        try {
          const r = await call('DELETE', '/api/v1/revocations/' + encodeURIComponent(rule.id));
          clear(status).append(el('p', { class: 'notice' }, 'Lifted; nodes: ' + (r.body.liftedNodes || []).join(', ')));
        } catch (e) { clear(status).append(el('p', { class: 'error' }, e.message)); }
      }, { class: 'confirm-lift' })));
  }, { class: 'lift-button' }));
  return box;
}

function addForm(status) {
  const kind = el('select', { name: 'kind' }, KINDS.map(k => el('option', { value: k }, k)));
  const value = el('input', { name: 'value', placeholder: 'value', required: true, maxlength: '1024' });
  const reason = el('input', { name: 'reason', placeholder: 'reason', maxlength: '1024' });
  const confirm = el('div', {});
  const form = el('form', { class: 'form', id: 'add-revocation' }, el('h3', {}, 'Add a revocation rule'),
    el('label', {}, 'Kind ', kind), el('label', {}, 'Value ', value), el('label', {}, 'Reason ', reason),
    el('button', { type: 'submit' }, 'Revoke…'), confirm);
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    clear(confirm).append(el('div', { class: 'confirm' }, 'Revoke every ' + kind.value + ' matching ', el('strong', {}, value.value),
      '? Matching nodes are refused at once. ',
      button('Confirm revoke', async () => {
        try {
          const r = await call('POST', '/api/v1/revocations', { kind: kind.value, value: value.value, reason: reason.value });
          clear(confirm);
          clear(status).append(el('p', { class: 'notice' }, 'Revoked nodes: ' + ((r.body.revokedNodes || []).join(', ') || 'none yet')));
        } catch (e) { clear(status).append(el('p', { class: 'error' }, e.message)); }
      }, { class: 'confirm-revoke' })));
  });
  return form;
}

export async function refresh(container, ctx) {
  // Do not drop a confirmation the operator is looking at.
  if (container.querySelector('.confirm')) return;
  await render(container, ctx);
}
