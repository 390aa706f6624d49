// Mesh: the services of the mesh config in force and the allowed edges between them, with the policies each
// edge requires (GET /api/v1/mesh/graph), drawn as an SVG graph built with DOM calls, and as a table.

import { get } from '../api.js';
import { el, svg, clear, table } from '../dom.js';

const SIZE = 560;

export async function render(container) {
  const g = await get('/api/v1/mesh/graph');
  clear(container);
  container.append(el('h2', {}, 'Mesh (config version ' + g.version + ')'));
  if (!g.services.length) {
    container.append(el('p', {}, 'No mesh config is in force (PUT /api/v1/mesh or attestmesh mesh apply).'));
    return;
  }
  container.append(draw(g),
    el('h3', {}, 'Services'),
    table(['service', 'ingress ports (required policies)', 'members', 'mutual', 'proxyless'], g.services.map(s =>
      [s.name, s.ingress.map(p => p.port + '/' + p.protocol + ' [' + p.policies.join(', ') + ']').join('; '),
        [].concat(s.nodeIds.map(n => 'node ' + n), s.spiffeIds, s.registrations.map(r => 'registration ' + r)).join(', '),
        String(s.mutual), String(s.proxyless)])),
    el('h3', {}, 'Allowed edges'),
    table(['from', 'to', 'port', 'callee requires of caller', 'caller requires of callee'], g.edges.map(e =>
      [e.from, e.to + (e.known ? '' : ' (undefined)'), String(e.port), e.calleeRequires.join(', '), e.callerRequires.join(', ')])));
}

function draw(g) {
  const n = g.services.length;
  const r = n === 1 ? 0 : SIZE / 2 - 80;
  const pos = new Map();
  g.services.forEach((s, i) => {
    const a = 2 * Math.PI * i / n - Math.PI / 2;
    pos.set(s.name, { x: SIZE / 2 + r * Math.cos(a), y: SIZE / 2 + r * Math.sin(a) });
  });
  const root = svg('svg', { class: 'graph', id: 'mesh-graph', width: SIZE, height: SIZE, viewBox: '0 0 ' + SIZE + ' ' + SIZE,
    role: 'img', 'aria-label': 'mesh services and allowed edges' });
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '28', refY: '5', markerWidth: '8',
    markerHeight: '8', orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }))));
  g.edges.forEach((e, i) => {
    const a = pos.get(e.from);
    const b = pos.get(e.to) || { x: a.x + 40, y: a.y + 40 };
    root.append(svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'marker-end': 'url(#arrow)', class: e.known ? 'edge' : 'edge unknown' }));
    const label = ':' + e.port + ' ' + e.calleeRequires.concat(e.callerRequires.filter(p => !e.calleeRequires.includes(p))).join(',');
    root.append(svg('text', { x: (a.x + b.x) / 2 + 4, y: (a.y + b.y) / 2 - 4 + (i % 2) * 12, class: 'policy' }, label));
  });
  for (const s of g.services) {
    const p = pos.get(s.name);
    root.append(svg('g', { class: 'service' }, svg('circle', { cx: p.x, cy: p.y, r: 22 }),
      svg('text', { x: p.x - 20, y: p.y + 36 }, s.name)));
  }
  return root;
}

export const refresh = render;
