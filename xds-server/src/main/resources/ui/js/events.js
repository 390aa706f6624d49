// Live updates: reads GET /api/v1/events (server-sent events) with fetch, since EventSource cannot send the
// bearer token. Each 'change' event only says where to look; the current page then fetches its data again.
// Without the stream (refused, or the network failed) the page is refreshed on a timer instead.

import { authHeaders } from './api.js';

const POLL_MS = 5000;

export function connect(onChange, onStatus) {
  let stopped = false;
  let controller = null;
  let pollTimer = null;

  function poll(on) {
    if (on && !pollTimer) pollTimer = setInterval(() => onChange({ kind: 'poll' }), POLL_MS);
    if (!on && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  async function run() {
    let delay = 500;
    while (!stopped) {
      controller = new AbortController();
      try {
        const r = await fetch('/api/v1/events', { headers: Object.assign({ Accept: 'text/event-stream' }, authHeaders()),
          credentials: 'same-origin', cache: 'no-store', signal: controller.signal });
        if (!r.ok || !r.body) throw new Error('events refused: ' + r.status);
        onStatus(true);
        poll(false);
        delay = 500;
        await read(r.body.getReader(), onChange);
      } catch (e) {
        if (stopped) return;
      }
      onStatus(false);
      poll(true);
      await new Promise(res => setTimeout(res, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }

  run();
  return () => { stopped = true; poll(false); if (controller) controller.abort(); };
}

async function read(reader, onChange) {
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    if (buffer.length > 1 << 20) throw new Error('event too large');
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      let name = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (name === 'change') {
        try { onChange(JSON.parse(data.join('\n'))); } catch (e) { onChange({ kind: 'unknown' }); }
      }
    }
  }
}
