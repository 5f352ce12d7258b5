// The log view of the task detail: a task's kept output from `GET /v1/tasks/:id/logs?follow=1`, newline-delimited
// JSON (one `{ attempt, stream, at, line, truncated? }` per line) read as it comes until the task's output ends.
// The request is same-origin, so it carries the session cookie like every other. Lines become text nodes only, and
// the page keeps the last MAX_LINES of them. It keeps to the bottom as lines come, unless the reader scrolled up.

import { clock, count, el } from './util.js';

export const MAX_LINES = 5000;

/** Within this many pixels of the bottom counts as at the bottom. */
const SLACK_PX = 8;

const atBottom = (box) => box.scrollHeight - box.scrollTop - box.clientHeight <= SLACK_PX;

/** One line of output; a line the daemon marked `truncated` says that its cap cut the rest. */
function lineNode(entry) {
  const stream = typeof entry?.stream === 'string' ? entry.stream : 'log';
  const at = typeof entry?.at === 'number' ? entry.at : undefined;
  const text = typeof entry?.line === 'string' ? entry.line : JSON.stringify(entry);
  return el(
    'div',
    { class: entry?.truncated ? 'log-line truncated' : 'log-line', 'data-stream': stream, title: at === undefined ? undefined : new Date(at).toISOString() },
    el('span', { class: 'log-at' }, at === undefined ? '' : clock(at)),
    el('span', { class: 'log-stream' }, stream),
    el('span', { class: 'log-text' }, text),
  );
}

/**
 * Follows one task's output into the page. `parts`: `box` (the lines), `status` (a badge with `data-state`:
 * connecting, live, ended, failed), `note` (lines dropped at the top) and `jump` (back to the bottom).
 */
export class LogView {
  constructor(parts) {
    this.parts = parts;
    this.controller = undefined;
    this.stick = true;
    parts.box.addEventListener('scroll', () => {
      this.stick = atBottom(parts.box);
      parts.jump.hidden = this.stick;
    });
    parts.jump.addEventListener('click', () => {
      this.stick = true;
      parts.jump.hidden = true;
      parts.box.scrollTop = parts.box.scrollHeight;
    });
  }

  /** Shows task `id`'s output from the start (of `attempt`, or of every attempt), then live until it ends. */
  follow(id, attempt) {
    this.clear();
    const controller = new AbortController();
    this.controller = controller;
    this.all = attempt === undefined;
    this.setStatus('connecting', 'connecting…');
    this.read(id, attempt, controller.signal).then(
      () => controller.signal.aborted || this.setStatus('ended', `output ended: ${count(this.lines + this.dropped)} lines`),
      (err) => {
        if (controller.signal.aborted) return;
        this.setStatus('failed', `stopped: ${err.message} `);
        const again = el('button', { type: 'button', 'data-testid': 'log-retry' }, 'Read again');
        again.addEventListener('click', () => this.follow(id, attempt));
        this.parts.status.append(again);
      },
    );
  }

  /** Stops reading and empties the view. */
  clear() {
    this.stop();
    Object.assign(this, { lines: 0, dropped: 0, attempt: undefined, stick: true });
    this.parts.box.replaceChildren();
    this.parts.note.hidden = true;
    this.parts.jump.hidden = true;
    this.setStatus('idle', '');
  }

  /** Stops reading (the daemon sees the request go and stops its stream). */
  stop() {
    this.controller?.abort();
    this.controller = undefined;
  }

  setStatus(state, text) {
    this.parts.status.dataset.state = state;
    this.parts.status.textContent = text;
  }

  async read(id, attempt, signal) {
    const query = attempt === undefined ? 'follow=1' : `follow=1&attempt=${attempt}`;
    const res = await fetch(`/v1/tasks/${encodeURIComponent(id)}/logs?${query}`, { headers: { accept: 'application/x-ndjson' }, cache: 'no-store', signal });
    if (!res.ok) {
      const payload = await res.json().catch(() => undefined);
      throw new Error(payload?.error?.message ?? `HTTP ${res.status}`);
    }
    this.setStatus('live', 'following: lines appear as the task writes them');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      const lines = rest.split('\n');
      rest = lines.pop();
      this.append(lines);
    }
    rest += decoder.decode();
    this.append([rest]);
  }

  /** Adds the complete NDJSON lines of one read, then trims the top and keeps to the bottom. */
  append(texts) {
    const nodes = [];
    for (const text of texts) {
      if (text.trim() === '') continue;
      let entry;
      try {
        entry = JSON.parse(text);
      } catch {
        entry = { stream: 'log', line: text };
      }
      // Every attempt in one view: a heading where each attempt's lines begin.
      if (this.all && typeof entry?.attempt === 'number' && entry.attempt !== this.attempt) {
        this.attempt = entry.attempt;
        nodes.push(el('div', { class: 'log-attempt', 'data-attempt': entry.attempt }, `attempt ${entry.attempt}`));
      }
      nodes.push(lineNode(entry));
      this.lines += 1;
    }
    if (nodes.length === 0) return;
    const { box, note } = this.parts;
    box.append(...nodes);
    for (let extra = this.lines - MAX_LINES; extra > 0 && box.firstElementChild; ) {
      const first = box.firstElementChild;
      if (first.classList.contains('log-line')) {
        extra -= 1;
        this.lines -= 1;
        this.dropped += 1;
      }
      first.remove();
    }
    if (this.dropped > 0) {
      note.hidden = false;
      note.textContent = `The first ${count(this.dropped)} lines are not shown: the page keeps the last ${count(MAX_LINES)}.`;
    }
    if (this.stick) box.scrollTop = box.scrollHeight;
    else this.parts.jump.hidden = false;
  }
}
