// Issuance log: pages of entries, and verification of the chain against the latest signed checkpoint: the
// server recomputes every hash and link (POST /api/v1/issuance-log/verify), and the console checks that the
// entry at the checkpoint's size has exactly the checkpoint's head hash (docs/issuance-log.md).

import { call, get } from '../api.js';
import { el, clear, table, button } from '../dom.js';

const PAGE = 50;
let from = 1;
const history = [];

export async function render(container) {
  const page = await get('/api/v1/issuance-log?from=' + from + '&limit=' + PAGE);
  clear(container);
  const result = el('div', { id: 'log-verification' });
  container.append(el('h2', {}, 'Issuance log'), button('Verify against the latest checkpoint', () => verify(result), { id: 'verify-log' }), result,
    table(['#', 'kind', 'serial', 'node', 'SPIFFE ID', 'policies', 'issued at', 'hash'], (page.entries || []).map(e =>
      [String(e.sequence), e.kind + (e.secretName ? ' ' + e.secretName + ' v' + e.secretVersion : ''), e.serial, e.nodeId, e.spiffeId,
        (e.policyIds || []).join(', '), e.issuedAt, (e.hash || '').slice(0, 16) + '…'])),
    history.length ? button('Previous page', () => { from = history.pop(); render(container); }, { id: 'log-prev' }) : '',
    page.nextFrom ? button('Next page', () => { history.push(from); from = page.nextFrom; render(container); }, { id: 'log-next' }) : '');
}

async function verify(out) {
  clear(out).append(el('p', {}, 'Verifying…'));
  try {
    const v = (await call('POST', '/api/v1/issuance-log/verify')).body;
    const lines = [v.intact ? 'Chain intact: ' + v.entriesChecked + ' entries checked.'
      : 'Chain BROKEN at entry ' + v.firstBrokenSequence + ': ' + v.problem];
    let ok = v.intact;
    let cp = null;
    try { cp = await get('/api/v1/issuance-log/checkpoints/latest'); } catch (e) { lines.push('No signed checkpoint yet: ' + e.message); }
    if (cp) {
      const at = ((await get('/api/v1/issuance-log?from=' + cp.size + '&limit=1')).entries || [])[0];
      const match = at && at.sequence === cp.size && at.hash === cp.headHash;
      ok = ok && match;
      lines.push('Latest checkpoint #' + cp.id + ' (' + cp.timestamp + ') covers ' + cp.size + ' entries: head hash '
        + (match ? 'matches entry ' + cp.size : 'DOES NOT match the log (truncated or rewritten)') + '.');
    }
    clear(out).append(el('p', { class: ok ? 'notice' : 'error', id: 'log-verdict' }, ok ? 'Verified.' : 'Verification failed.'),
      ...lines.map(l => el('p', {}, l)));
  } catch (e) {
    clear(out).append(el('p', { class: 'error' }, e.message));
  }
}

export async function refresh(container) {
  if (from === 1) await render(container);
}
