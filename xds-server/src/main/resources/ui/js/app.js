// The console's shell: sign-in, the session (who and which role), routing between pages, live updates.

import * as api from './api.js';
import { el, clear, button, showError } from './dom.js';
import { connect } from './events.js';
import * as overview from './pages/overview.js';
import * as nodes from './pages/nodes.js';
import * as mesh from './pages/mesh.js';
import * as documents from './pages/documents.js';
import * as revocations from './pages/revocations.js';
import * as log from './pages/log.js';

const main = document.getElementById('main');
let session = null;
let current = null;
let disconnect = null;
let refreshQueued = false;

const ROUTES = {
  overview: overview,
  nodes: nodes,
  mesh: mesh,
  policies: documents.policies,
  registrations: documents.registrations,
  revocations: revocations,
  log: log,
};

function ctx() {
  return { session, canWrite: session && (session.role === 'operator' || session.role === 'admin') };
}

async function route() {
  if (!session) return;
  const parts = (location.hash || '#/overview').slice(2).split('/');
  const page = ROUTES[parts[0]] || overview;
  const arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : null;
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === '#/' + (parts[0] || 'overview'));
  }
  current = { page, arg };
  clear(main);
  const container = el('div', { id: 'page' });
  main.appendChild(container);
  try {
    await page.render(container, ctx(), arg);
  } catch (e) {
    showError(container, e);
  }
}

// A change event refreshes the page in place (no reload); bursts of events are coalesced.
function changed() {
  if (refreshQueued || !current || !current.page.refresh) return;
  refreshQueued = true;
  setTimeout(async () => {
    refreshQueued = false;
    const container = document.getElementById('page');
    if (!container) return;
    try { await current.page.refresh(container, ctx(), current.arg); } catch (e) { /* keep the page; next event retries */ }
  }, 100);
}

function setLive(on) {
  const live = document.getElementById('live');
  live.textContent = on ? 'live updates: on' : 'live updates: reconnecting (refreshing every 5 s)';
  live.className = on ? 'live-on' : 'live-off';
}

function showSignIn(message) {
  session = null;
  if (disconnect) { disconnect(); disconnect = null; }
  clear(main);
  clear(document.getElementById('who'));
  document.getElementById('nav').hidden = true;
  document.getElementById('signin').hidden = false;
  document.getElementById('signin-error').textContent = message || '';
}

async function start() {
  try {
    session = await api.get('/api/v1/session');
  } catch (e) {
    showSignIn(api.token() ? 'Sign-in failed: ' + e.message : '');
    return;
  }
  document.getElementById('signin').hidden = true;
  document.getElementById('nav').hidden = false;
  const who = clear(document.getElementById('who'));
  who.appendChild(el('span', { id: 'whoami' }, session.name + ' (' + session.role + ')'));
  if (api.token()) {
    who.appendChild(button('Sign out', () => { api.setToken(null); showSignIn('Signed out.'); }, { id: 'signout' }));
  }
  disconnect = connect(changed, setLive);
  await route();
}

document.getElementById('signin-form').addEventListener('submit', ev => {
  ev.preventDefault();
  api.setToken(document.getElementById('token').value.trim());
  document.getElementById('token').value = '';
  start();
});
api.whenUnauthenticated(() => { if (session) showSignIn('Your session ended; sign in again.'); });
window.addEventListener('hashchange', route);
start();
