/* discuss: the comment thread inside the embed iframe. Plain JS, no build step.
 * Every reader-facing string comes from i18n/<lang>.json (injected as #discuss-strings).
 * DOM is built with textContent; the only HTML inserted is the server's sanitized comment
 * HTML, and that passes through an allowlist (safeFragment) first. */
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const CFG = JSON.parse($('discuss-config').textContent);
  const T = JSON.parse($('discuss-strings').textContent);
  const root = $('discuss');
  // Plural forms, numbers and dates follow the language's CLDR rules (Intl), so Polish, Ukrainian
  // or Arabic counts get their own few/many/two forms from the same code.
  const plural = new Intl.PluralRules(T.locale);
  const num = new Intl.NumberFormat(T.locale);

  function t(key, vars) {
    let s = T[key] == null ? key : String(T[key]);
    if (vars) for (const k in vars) s = s.split('{' + k + '}').join(typeof vars[k] === 'number' ? num.format(vars[k]) : String(vars[k]));
    return s;
  }
  // The API says its held and rejected messages (and why) in the language the widget asks for
  // (Accept-Language, set below): shown as sent, the widget's own string only when none came.
  const serverText = (message) => message || null;
  function tn(base, n, vars) {
    const all = Object.assign({ n }, vars);
    if (n === 0 && T[base + '_zero']) return t(base + '_zero', all);
    const key = base + '_' + plural.select(n);
    return t(T[key] ? key : base + '_other', all);
  }

  /* ---------- storage: works (in memory) even when third-party storage is blocked ---------- */
  const memory = {};
  const store = {
    get(k) { try { return localStorage.getItem(k); } catch (e) { return memory[k] == null ? null : memory[k]; } },
    set(k, v) { try { if (v == null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch (e) { memory[k] = v; } },
  };

  /* ---------- identity: a bearer token + the viewer the API reports ----------
   * Guests get a signed author token when they first post; accounts and SSO readers get a
   * revocable drs_ session token. A guest's token is kept aside while they are signed in and
   * given back when they sign out. SSO_KEY holds the tail (signature) of the publisher's token
   * that made the current session, so a reload with the same token does not sign in again. */
  const TOKEN_KEY = 'discuss.token';
  const GUEST_KEY = 'discuss.guest';
  const SSO_KEY = 'discuss.sso';
  const auth = {
    token: store.get(TOKEN_KEY),
    viewer: null,
    setToken(token) { this.token = token || null; store.set(TOKEN_KEY, this.token); },
  };
  const isSession = (token) => !!token && token.startsWith('drs_');
  const likes = new Set(JSON.parse(store.get('discuss.likes') || '[]'));
  const saveLikes = () => store.set('discuss.likes', JSON.stringify([...likes].slice(-500)));

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Accept-Language'] = T.locale;  // the held/rejected message in the widget's language
    }
    if (auth.token) headers.Authorization = 'Bearer ' + auth.token;
    let res;
    try {
      // no-cache: revalidate (304), so a reader's own like or edit shows on reload
      res = await fetch(CFG.api + path, { method, headers, body: body ? JSON.stringify(body) : undefined, credentials: 'same-origin', cache: 'no-cache' });
    } catch (e) {
      throw { code: 'network' };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* empty or non-JSON body */ }
    if (!res.ok) {
      const err = (data && data.error) || { code: res.status === 429 ? 'rate_limited' : 'http_' + res.status };
      err.status = res.status;
      if (err.code === 'invalid_token' && auth.token) {
        // Expired or revoked: carry on as a new guest rather than failing the action.
        auth.setToken(null);
        auth.viewer = null;
        return api(method, path, body);
      }
      throw err;
    }
    if (data && data.author_token) auth.setToken(data.author_token);
    if (data && data.viewer) auth.viewer = data.viewer;
    return { status: res.status, data: data || {} };
  }

  /* ---------- proof of work (ALTCHA), only on sites that ask for it ----------
   * The vendored ALTCHA widget is loaded when a reader who needs it starts writing, never with
   * the thread, so first load stays within its size budget. It solves in a Web Worker. */
  // ALTCHA stays a static file: from /embed/assets/thread.js (served minified) it is /static/embed/vendor/.
  const VENDOR = ((document.currentScript && document.currentScript.src) || '')
    .replace(/embed\/assets\/thread\.js.*$/, 'static/embed/thread.js').replace(/thread\.js.*$/, 'vendor/altcha-3.2.2/');
  let altchaLoad = null;
  const powNeeded = () => {
    const mode = state.settings.proof_of_work;
    return mode === 'everyone' || (mode === 'guests' && !(auth.viewer && auth.viewer.kind !== 'guest'));
  };
  function loadAltcha() {
    if (!altchaLoad) altchaLoad = new Promise((resolve, reject) => {
      document.head.append(h('link', { rel: 'stylesheet', href: VENDOR + 'altcha.css' }));
      const s = document.createElement('script');
      s.src = VENDOR + 'altcha.min.js';
      s.onload = () => { window.$altcha.algorithms.set('SHA-256', () => new Worker(VENDOR + 'sha.js')); resolve(); };
      s.onerror = () => { altchaLoad = null; reject({ code: 'network' }); };
      document.head.append(s);
    });
    return altchaLoad;
  }
  async function solvePow(form) {
    await loadAltcha();
    const w = document.createElement('altcha-widget');
    w.setAttribute('challenge', CFG.api + '/challenge');
    w.setAttribute('display', 'invisible');
    w.setAttribute('auto', 'off');
    w.setAttribute('configuration', '{"minDuration": 0}');
    const done = new Promise((resolve, reject) => {
      w.addEventListener('verified', (e) => resolve(e.detail.payload));
      w.addEventListener('statechange', (e) => { if (e.detail.state === 'error') reject({ code: 'proof_of_work_invalid' }); });
    });
    const ready = new Promise((resolve) => w.addEventListener('load', resolve, { once: true }));
    form.append(w);
    try {
      if (typeof w.verify !== 'function') await ready;
      w.verify();
      return await done;
    } finally {
      w.remove();
    }
  }

  function errorText(err) {
    const code = err && err.code;
    if (code === 'network') return t('err_network');
    if (code === 'rate_limited') return t('err_rate_limited');
    if (code === 'thread_closed') return t('err_thread_closed');
    if (code === 'duplicate_comment') return t('err_duplicate');
    if (code === 'edit_window_expired') return t('err_edit_window_expired');
    if (code === 'forbidden') return t('err_forbidden');
    if (code === 'commenting_disabled') return t('err_commenting_disabled');
    if (code === 'unknown_site') return t('err_unknown_site');
    if (code === 'not_found') return t('err_not_found');
    if (code === 'already_reported') return t('report_thanks');
    if (code === 'sign_in_required' || code === 'identity_not_allowed') return t('sign_in_required');
    if (code === 'rejected_as_spam') return t('err_spam');
    if (code === 'origin_not_allowed') return t('err_unknown_site');
    if (code === 'invalid_credentials') return t('err_invalid_credentials');
    if (code === 'invalid_link' || code === 'link_expired') return t('err_link');
    if (code === 'registration_unavailable') return t('err_registration_unavailable');
    if (code === 'account_disabled') return t('err_account_disabled');
    if (code === 'validation_failed' && err.fields) {
      return Object.entries(err.fields).map(([field, msg]) => {
        const max = /at most ([\d,]+)/.exec(msg);
        if (field === 'body') return max ? t('err_too_long', { max: max[1] }) : t('err_empty');
        if (field === 'author_name') return max ? t('err_name_long', { max: max[1] }) : t('err_name');
        if (field === 'author_email' || field === 'email') return t('err_email_invalid');
        if (field === 'password') return t('err_password');
        if (field === 'display_name') return t('err_name');
        if (field === 'parent_id') return t('err_not_found');
        return err.message || t('err_generic');
      }).join(' ');
    }
    return (err && err.message) || t('err_generic');
  }

  /* ---------- tiny DOM builder ---------- */
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const k in attrs) {
        const v = attrs[k];
        if (v == null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      }
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) el.append(kid);
    return el;
  }
  let uid = 0;
  const nextId = (p) => p + '-' + (++uid);

  /* ---------- allowlist for comment HTML (defence in depth; the server sanitizes first) ---------- */
  const ALLOWED = {
    P: [], BR: [], STRONG: [], B: [], EM: [], I: [], DEL: [], S: [], CODE: [], PRE: [], BLOCKQUOTE: [],
    UL: [], OL: ['start'], LI: [], HR: [], A: ['href', 'title'],
  };
  const DROP = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'NOSCRIPT', 'SVG', 'MATH', 'TEXTAREA', 'SELECT', 'HEAD', 'TITLE', 'LINK', 'META']);
  const SAFE_URL = /^(https?:\/\/|mailto:)/i;
  function copyInto(src, dst) {
    for (const n of src.childNodes) {
      if (n.nodeType === 3) { dst.append(n.textContent); continue; }
      if (n.nodeType !== 1) continue;
      const tag = n.tagName.toUpperCase();
      if (DROP.has(tag)) continue;
      const allowed = ALLOWED[tag];
      if (!allowed) { copyInto(n, dst); continue; }
      const el = document.createElement(tag.toLowerCase());
      for (const name of allowed) {
        const v = n.getAttribute(name);
        if (v == null) continue;
        if (name === 'href' && !SAFE_URL.test(v.trim())) continue;
        if (name === 'start' && !/^\d{1,6}$/.test(v)) continue;
        el.setAttribute(name, v);
      }
      if (tag === 'A') { el.target = '_blank'; el.rel = 'nofollow ugc noopener noreferrer'; }
      copyInto(n, el);
      dst.append(el);
    }
  }
  function safeFragment(html) {
    const doc = new DOMParser().parseFromString(String(html || ''), 'text/html');
    const frag = document.createDocumentFragment();
    copyInto(doc.body, frag);
    return frag;
  }

  /* ---------- time ---------- */
  const rtf = new Intl.RelativeTimeFormat(T.locale, { numeric: 'auto' });
  const exactFmt = new Intl.DateTimeFormat(T.locale, { dateStyle: 'full', timeStyle: 'short' });
  const STEPS = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
  function relTime(date) {
    const secs = (date.getTime() - Date.now()) / 1000;
    if (Math.abs(secs) < 45) return t('just_now');
    for (const [unit, size] of STEPS) if (Math.abs(secs) >= size) return rtf.format(Math.round(secs / size), unit);
    return rtf.format(Math.round(secs / 60), 'minute');
  }
  function timeEl(iso) {
    const d = new Date(iso);
    return h('time', { class: 'dc-time', datetime: iso, title: exactFmt.format(d), text: relTime(d) });
  }
  setInterval(() => {
    for (const el of root.querySelectorAll('time.dc-time')) el.textContent = relTime(new Date(el.getAttribute('datetime')));
  }, 60000);

  /* ---------- state ---------- */
  const state = {
    sort: store.get('discuss.sort') || 'oldest', settings: {}, thread: null, cursor: null,
    byId: new Map(), loading: false, announce: null, lastId: 0,
  };
  if (!['oldest', 'newest', 'top'].includes(state.sort)) state.sort = 'oldest';
  const isOwn = (c) => !!(auth.viewer && c.author && c.author.id === auth.viewer.id);
  const canEdit = (c) => isOwn(c) && c.status !== 'deleted' &&
    Date.now() < new Date(c.created_at).getTime() + (state.settings.edit_window_seconds || 0) * 1000;
  const maxDepth = () => (state.settings.max_depth == null ? 3 : state.settings.max_depth);

  function countReplies(c) {
    let n = 0;
    for (const r of c.replies || []) n += 1 + countReplies(r);
    return n;
  }

  /* ---------- rendering ---------- */
  let listEl, countEl, moreEl, composeHost, liveEl;

  function announce(msg) { liveEl.textContent = ''; setTimeout(() => { liveEl.textContent = msg; }, 30); }

  function avatar(c) {
    const name = (c.author && c.author.name) || '?';
    if (c.author && c.author.avatar_url && /^https:\/\//i.test(c.author.avatar_url)) {
      return h('img', { class: 'dc-avatar', src: c.author.avatar_url, alt: '', width: 36, height: 36, loading: 'lazy', referrerpolicy: 'no-referrer' });
    }
    let hash = 0;
    for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return h('span', { class: 'dc-avatar dc-av' + (hash % 8), 'aria-hidden': 'true', text: [...name][0].toUpperCase() });
  }

  function renderComment(c) {
    state.byId.set(c.id, c);
    const li = h('li', { class: 'dc-item', id: 'c-' + c.id, 'data-id': c.id });
    fillItem(li, c);
    return li;
  }

  function fillItem(li, c) {
    const deleted = c.status === 'deleted';
    const own = isOwn(c);
    const name = (c.author && c.author.name) || '';
    const art = h('article', {
      class: 'dc-comment' + (c.status === 'pending' ? ' is-pending' : '') + (own ? ' is-own' : '') + (c.featured ? ' is-featured' : '') + (deleted ? ' is-deleted' : ''),
      tabindex: '-1', 'aria-label': deleted ? t('deleted') : name,
    });
    if (deleted) {
      art.append(h('p', { class: 'dc-deleted', text: t('deleted') }));
    } else {
      art.append(
        h('header', { class: 'dc-meta' },
          avatar(c),
          h('span', { class: 'dc-who' },
            h('span', { class: 'dc-author', text: name }),
            own ? h('span', { class: 'dc-badge', text: t('you') }) : null,
            c.author && c.author.staff ? h('span', { class: 'dc-badge dc-badge-staff', text: t('staff') }) : null,
            c.featured ? h('span', { class: 'dc-badge dc-badge-pick', text: t('featured') }) : null,
            c.status === 'pending' ? h('span', { class: 'dc-badge dc-badge-pending', text: t('awaiting') }) : null),
          h('span', { class: 'dc-when' }, timeEl(c.created_at),
            c.edited_at ? h('span', { class: 'dc-edited', title: exactFmt.format(new Date(c.edited_at)), text: ' · ' + t('edited') }) : null)));
      if (c.status === 'pending') art.append(h('p', { class: 'dc-pending-note', text: t('awaiting_note') }));
      const body = h('div', { class: 'dc-body' });
      body.append(safeFragment(c.html));
      art.append(body, actions(c, li));
    }
    art.append(h('div', { class: 'dc-slot' }));
    li.replaceChildren(art);
    const replies = c.replies || [];
    const ol = h('ol', { class: 'dc-list dc-replies', id: 'r-' + c.id });
    for (const r of replies) ol.append(renderComment(r));
    if (replies.length) {
      const n = countReplies(c);
      const toggle = h('button', {
        type: 'button', class: 'dc-toggle', 'aria-expanded': 'true', 'aria-controls': ol.id, text: tn('hide_replies', n),
        onclick: () => {
          const open = toggle.getAttribute('aria-expanded') !== 'true';
          toggle.setAttribute('aria-expanded', String(open));
          ol.hidden = !open;
          toggle.textContent = tn(open ? 'hide_replies' : 'show_replies', countReplies(c));
        },
      });
      li.append(toggle);
    }
    li.append(ol);
  }

  function actions(c, li) {
    const bar = h('div', { class: 'dc-actions' });
    if (c.status === 'published') {
      const liked = likes.has(c.id);
      const likeBtn = h('button', {
        type: 'button', class: 'dc-act dc-like', 'aria-pressed': String(liked),
        'aria-label': tn('like_label', c.likes || 0, { name: (c.author && c.author.name) || '' }),
        onclick: () => like(c, likeBtn),
      }, h('span', { class: 'dc-heart', 'aria-hidden': 'true' }), h('span', { class: 'dc-like-n', text: num.format(c.likes || 0) }));
      bar.append(likeBtn);
    }
    if (c.status !== 'deleted' && !state.thread.closed && composeAllowed()) {
      bar.append(h('button', { type: 'button', class: 'dc-act', text: t('reply'), onclick: (e) => openReply(c, li, e.currentTarget) }));
    }
    if (canEdit(c)) {
      bar.append(h('button', { type: 'button', class: 'dc-act', text: t('edit'), onclick: (e) => openEdit(c, li, e.currentTarget) }));
      bar.append(h('button', { type: 'button', class: 'dc-act', text: t('delete'), onclick: (e) => openDelete(c, li, e.currentTarget) }));
    }
    if (c.status === 'published' && !isOwn(c)) {
      const reported = store.get('discuss.reported.' + c.id);
      bar.append(h('button', {
        type: 'button', class: 'dc-act dc-report-btn', text: t(reported ? 'reported' : 'report'), disabled: !!reported,
        onclick: (e) => openReport(c, li, e.currentTarget),
      }));
    }
    return bar;
  }

  function slotOf(li) { return li.querySelector(':scope > article > .dc-slot'); }

  function closeSlot(li, focusEl) {
    slotOf(li).replaceChildren();
    if (focusEl && focusEl.isConnected) focusEl.focus();
  }

  /* ---------- like ---------- */
  async function like(c, btn) {
    const value = likes.has(c.id) ? 0 : 1;
    btn.disabled = true;
    try {
      const { data } = await api('POST', '/comments/' + c.id + '/votes', { value });
      c.likes = data.likes;
      if (data.value) likes.add(c.id); else likes.delete(c.id);
      saveLikes();
      btn.setAttribute('aria-pressed', String(!!data.value));
      btn.querySelector('.dc-like-n').textContent = num.format(data.likes);
      btn.setAttribute('aria-label', tn('like_label', data.likes, { name: (c.author && c.author.name) || '' }));
    } catch (err) {
      announce(errorText(err));
    } finally {
      btn.disabled = false;
    }
  }

  /* ---------- report ---------- */
  function openReport(c, li, opener) {
    const slot = slotOf(li);
    const legendId = nextId('rl');
    const noteId = nextId('rn');
    const err = h('p', { class: 'dc-error', role: 'alert' });
    const form = h('form', { class: 'dc-panel dc-report', 'aria-labelledby': legendId });
    const reasons = Object.entries(T.report_reasons).map(([value, label], i) => {
      const id = nextId('rr');
      return h('div', { class: 'dc-radio' },
        h('input', { type: 'radio', name: 'reason', value, id, required: true, checked: i === 0 }),
        h('label', { for: id, text: label }));
    });
    form.append(
      h('fieldset', null, h('legend', { id: legendId, text: t('report_legend') }), reasons),
      h('label', { for: noteId, class: 'dc-label', text: t('report_note') }),
      h('textarea', { id: noteId, name: 'note', rows: 2, maxlength: 1000, class: 'dc-input' }),
      err,
      h('div', { class: 'dc-form-actions' },
        h('button', { type: 'submit', class: 'dc-btn dc-btn-primary', text: t('report_send') }),
        h('button', { type: 'button', class: 'dc-btn', text: t('cancel'), onclick: () => closeSlot(li, opener) })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      const submit = form.querySelector('[type=submit]');
      submit.disabled = true;
      try {
        await api('POST', '/comments/' + c.id + '/reports', { reason: fd.get('reason'), note: (fd.get('note') || '').trim() || undefined });
        store.set('discuss.reported.' + c.id, '1');
        opener.textContent = t('reported');
        opener.disabled = true;
        const thanks = h('p', { class: 'dc-notice', role: 'status', tabindex: '-1', text: t('report_thanks') });
        slot.replaceChildren(thanks);
        thanks.focus();
      } catch (ex) {
        err.textContent = errorText(ex);
        submit.disabled = ex.code === 'already_reported';
        if (ex.code === 'already_reported') { opener.textContent = t('reported'); opener.disabled = true; }
      }
    });
    slot.replaceChildren(form);
    form.querySelector('input[name=reason]').focus();
  }

  /* ---------- delete ---------- */
  function openDelete(c, li, opener) {
    const slot = slotOf(li);
    const err = h('p', { class: 'dc-error', role: 'alert' });
    const yes = h('button', {
      type: 'button', class: 'dc-btn dc-btn-danger', text: t('delete_yes'),
      onclick: async () => {
        yes.disabled = true;
        const wasPublished = c.status === 'published';
        try {
          const { data } = await api('DELETE', '/comments/' + c.id);
          Object.assign(c, data.comment || { status: 'deleted', html: null, author: null }, { replies: c.replies });
          if (!(c.replies || []).length) {
            li.remove();
          } else {
            fillItem(li, c);
          }
          if (wasPublished) refreshCount(-1);
          announce(t('deleted'));
          (composeHost.querySelector('textarea') || root).focus();
        } catch (ex) {
          err.textContent = errorText(ex);
          yes.disabled = false;
        }
      },
    });
    slot.replaceChildren(h('div', { class: 'dc-panel dc-confirm', role: 'group', 'aria-label': t('delete') },
      h('p', { text: t('delete_confirm') }), err,
      h('div', { class: 'dc-form-actions' }, yes,
        h('button', { type: 'button', class: 'dc-btn', text: t('cancel'), onclick: () => closeSlot(li, opener) }))));
    yes.focus();
  }

  function refreshCount(delta) {
    state.thread.published_count = Math.max(0, (state.thread.published_count || 0) + delta);
    showCount();
  }
  // Next to the heading only a real count reads well; the empty state speaks for zero.
  function showCount() {
    const n = state.thread.published_count || 0;
    countEl.textContent = n ? tn('count', n) : '';
  }

  /* ---------- compose / reply / edit ---------- */
  const allowed = (kind) => (state.settings.allowed_identities || ['guest']).includes(kind);
  function composeAllowed() {
    const kind = auth.viewer && auth.viewer.kind;
    return allowed('guest') || (!!kind && kind !== 'guest' && allowed(kind));
  }

  function openReply(c, li, opener) {
    const parentId = c.depth < maxDepth() ? c.id : (c.parent_id || c.id);
    const name = (c.author && c.author.name) || '';
    const form = commentForm({
      mode: 'reply', label: t('reply_label', { name }), parentId,
      prefill: c.depth < maxDepth() ? '' : '@' + name + ' ',
      onCancel: () => closeSlot(li, opener),
      onDone: (comment) => {
        closeSlot(li);
        const target = c.depth < maxDepth() ? li : (li.parentElement.closest('.dc-item') || li);
        insertReply(target, comment);
      },
    });
    slotOf(li).replaceChildren(form);
    form.querySelector('textarea').focus();
  }

  function openEdit(c, li, opener) {
    const form = commentForm({
      mode: 'edit', label: t('edit_label'), comment: c, prefill: c.body_markdown || markdownOf(c),
      onCancel: () => closeSlot(li, opener),
      onDone: (comment) => {
        Object.assign(c, comment, { replies: c.replies });
        fillItem(li, c);
        li.querySelector('article').focus();
      },
    });
    slotOf(li).replaceChildren(form);
    const ta = form.querySelector('textarea');
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }

  // The API returns HTML only; for editing, keep what this reader typed, else fall back to text.
  const typed = new Map();
  function markdownOf(c) {
    if (typed.has(c.id)) return typed.get(c.id);
    const d = new DOMParser().parseFromString(String(c.html || ''), 'text/html');
    return (d.body.innerText || d.body.textContent || '').trim();
  }

  function insertReply(parentLi, comment) {
    const parent = state.byId.get(Number(parentLi.dataset.id));
    if (parent) {
      parent.replies = parent.replies || [];
      parent.replies.push(comment);
      fillItem(parentLi, parent);
    }
    const el = $('c-' + comment.id);
    if (el) el.querySelector('article').focus();
  }

  let previewTimer = 0;
  function commentForm(opts) {
    const id = nextId('f');
    // Guests (including returning ones) may change the name they post under; signed-in readers may not.
    const guest = !auth.viewer || auth.viewer.kind === 'guest';
    const needEmail = !!state.settings.require_guest_email;
    const err = h('p', { class: 'dc-error', role: 'alert', id: id + '-err' });
    const ta = h('textarea', {
      id: id + '-body', name: 'body', rows: opts.mode === 'compose' ? 4 : 3, class: 'dc-input dc-textarea',
      placeholder: t('body_placeholder'), required: true, 'aria-describedby': id + '-err',
    });
    ta.value = opts.prefill || '';
    const preview = h('div', { class: 'dc-preview-body dc-body', id: id + '-pv', 'aria-live': 'polite' });
    const previewBox = h('div', { class: 'dc-preview', hidden: true },
      h('p', { class: 'dc-preview-label', text: t('preview') }), preview);
    const help = h('details', { class: 'dc-help' },
      h('summary', { text: t('formatting_help') }),
      h('p', { text: t('help_intro') }),
      h('table', null, h('tbody', null, T.help_rows.map(([src, out]) => h('tr', null, h('td', null, h('code', { text: src })), h('td', { text: out }))))));
    const fields = [];
    if (opts.mode !== 'edit') {
      if (guest) {
        const nameId = id + '-name';
        const emailId = id + '-email';
        fields.push(h('div', { class: 'dc-fields' },
          h('div', { class: 'dc-field' },
            h('label', { for: nameId, class: 'dc-label', text: t('name_label') }),
            h('input', { id: nameId, name: 'author_name', class: 'dc-input', autocomplete: 'name', maxlength: 64, required: true, value: store.get('discuss.name') || '' })),
          h('div', { class: 'dc-field' },
            h('label', { for: emailId, class: 'dc-label', text: t(needEmail ? 'email_label_required' : 'email_label') }),
            h('input', { id: emailId, name: 'author_email', type: 'email', class: 'dc-input', autocomplete: 'email', maxlength: 254, required: needEmail, value: store.get('discuss.email') || '' }))));
      }
      // Honeypot: people never see or reach it; naive bots fill it in.
      fields.push(h('input', { type: 'text', name: 'website', class: 'dc-hp', tabindex: '-1', autocomplete: 'off', 'aria-hidden': 'true' }));
    }
    const nudge = h('div', { class: 'dc-nudge', hidden: true, role: 'alertdialog', 'aria-labelledby': id + '-nt', 'aria-describedby': id + '-nb' });
    const submit = h('button', { type: 'submit', class: 'dc-btn dc-btn-primary', text: t(opts.mode === 'edit' ? 'save' : opts.mode === 'reply' ? 'post_reply' : 'post') });
    const title = h('label', { for: ta.id, class: opts.mode === 'compose' ? 'dc-form-title' : 'dc-label', text: opts.label });
    const form = h('form', { class: 'dc-form dc-form-' + opts.mode, novalidate: true },
      opts.mode === 'compose' ? h('div', { class: 'dc-form-head' }, title, identityBar()) : title,
      ta, previewBox, fields, err, nudge,
      h('div', { class: 'dc-form-actions' }, submit,
        opts.onCancel ? h('button', { type: 'button', class: 'dc-btn', text: t('cancel'), onclick: opts.onCancel }) : null,
        help));

    let seq = 0;
    let warningToken = null;
    ta.addEventListener('focus', () => { if (powNeeded()) loadAltcha().catch(() => {}); });
    ta.addEventListener('input', () => {
      clearTimeout(previewTimer);
      const text = ta.value;
      if (!text.trim()) { previewBox.hidden = true; preview.replaceChildren(); return; }
      const mine = ++seq;
      previewTimer = setTimeout(async () => {
        try {
          const { data } = await api('POST', '/preview', { body: text });
          if (mine !== seq) return;
          preview.replaceChildren(safeFragment(data.html));
          previewBox.hidden = !data.html;
          notifyResize();
        } catch (e) { /* preview is a nicety; posting still works */ }
      }, 350);
    });
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });

    async function send(acknowledge) {
      err.textContent = '';
      const body = ta.value.trim();
      const fd = new FormData(form);
      const bad = [];
      form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
      if (!body) { bad.push([ta, t('err_empty')]); }
      if (guest && opts.mode !== 'edit') {
        const nameEl = form.querySelector('[name=author_name]');
        const emailEl = form.querySelector('[name=author_email]');
        if (!nameEl.value.trim()) bad.push([nameEl, t('err_name')]);
        if (needEmail && !emailEl.value.trim()) bad.push([emailEl, t('err_email')]);
      }
      if (bad.length) {
        for (const [el] of bad) el.setAttribute('aria-invalid', 'true');
        err.textContent = bad.map((b) => b[1]).join(' ');
        bad[0][0].focus();
        return;
      }
      submit.disabled = true;
      const label = submit.textContent;
      submit.textContent = t('posting');
      try {
        let res;
        if (opts.mode === 'edit') {
          res = await api('PATCH', '/comments/' + opts.comment.id, { body });
        } else {
          const payload = {
            site: CFG.site, article: CFG.article, article_url: CFG.url || undefined, article_title: CFG.title || undefined,
            parent_id: opts.parentId || undefined, body, website: fd.get('website') || '',
            acknowledge_warning: acknowledge || undefined,
            // Lets the service record whether the reader rephrased after the nudge.
            warning_token: warningToken || undefined,
          };
          if (guest) {
            payload.author_name = String(fd.get('author_name') || '').trim();
            payload.author_email = String(fd.get('author_email') || '').trim() || undefined;
            store.set('discuss.name', payload.author_name);
            if (payload.author_email) store.set('discuss.email', payload.author_email);
          } else {
            payload.author_name = auth.viewer.name;
          }
          if (powNeeded()) payload.altcha = await solvePow(form);
          res = await api('POST', '/comments', payload);
        }
        const comment = res.data.comment;
        // The answer's own status: a rejected comment's public view reads 'deleted'.
        if (res.data.status === 'rejected') {  // not published and never will be: say so, keep the text
          err.textContent = serverText(res.data.message) || t('rejected_message');
          return;
        }
        typed.set(comment.id, body);
        if (!comment.author && auth.viewer) comment.author = { id: auth.viewer.id, name: auth.viewer.name, avatar_url: null };
        comment.replies = comment.replies || [];
        if (opts.mode !== 'edit' && comment.status === 'published') refreshCount(1);
        if (opts.mode === 'edit' && opts.comment.status === 'published' && comment.status !== 'published') refreshCount(-1);
        ta.value = '';
        previewBox.hidden = true;
        nudge.hidden = true;
        announce(comment.status === 'pending' ? (serverText(res.data.message) || t('held_message')) : t('posted'));
        opts.onDone(comment, res.data);
      } catch (ex) {
        if (ex.code === 'toxicity_warning') {
          warningToken = ex.warning_token || warningToken;
          showNudge();
        } else {
          if (ex.code === 'validation_failed' && ex.fields) {
            for (const name in ex.fields) {
              const el = form.querySelector('[name="' + name + '"]');
              if (el) el.setAttribute('aria-invalid', 'true');
            }
          }
          err.textContent = errorText(ex);
          if (ex.code === 'thread_closed') { state.thread.closed = true; }
        }
      } finally {
        submit.disabled = false;
        submit.textContent = label;
      }
    }

    function showNudge() {
      const post = h('button', { type: 'button', class: 'dc-btn', text: t('nudge_post'), onclick: () => send(true) });
      const edit = h('button', {
        type: 'button', class: 'dc-btn dc-btn-primary', text: t('nudge_edit'),
        onclick: () => { nudge.hidden = true; ta.focus(); },
      });
      nudge.replaceChildren(
        h('p', { class: 'dc-nudge-title', id: id + '-nt', text: t('nudge_title') }),
        h('p', { id: id + '-nb', text: t('nudge_body') }),
        h('div', { class: 'dc-form-actions' }, edit, post));
      nudge.hidden = false;
      edit.focus();
      announce(t('nudge_title') + ' ' + t('nudge_body')); // focus alone may not read the dialog out
    }

    form.addEventListener('submit', (e) => { e.preventDefault(); send(false); });
    return form;
  }

  /* ---------- the thread ---------- */
  function buildShell() {
    const sortId = nextId('sort');
    const select = h('select', { id: sortId, class: 'dc-select', onchange: (e) => { state.sort = e.target.value; store.set('discuss.sort', state.sort); load(true); } },
      ['oldest', 'newest', 'top'].map((v) => h('option', { value: v, selected: v === state.sort, text: t('sort_' + v) })));
    countEl = h('span', { class: 'dc-count' });
    listEl = h('ol', { class: 'dc-list dc-top', 'aria-label': t('heading') });
    moreEl = h('div', { class: 'dc-more' });
    composeHost = h('div', { class: 'dc-compose' });
    liveEl = h('div', { class: 'dc-sr', role: 'status', 'aria-live': 'polite' });
    root.replaceChildren(
      h('div', { class: 'dc-head' },
        h('h2', { class: 'dc-title' }, t('heading') + ' ', countEl),
        h('div', { class: 'dc-sort' }, h('label', { for: sortId, class: 'dc-sort-label', text: t('sort_label') }), select)),
      composeHost, listEl, moreEl, liveEl);
  }

  function renderCompose() {
    let content;
    if (state.thread.closed) content = h('p', { class: 'dc-notice', text: t('closed') });
    else if (state.settings.commenting_enabled === false) content = h('p', { class: 'dc-notice', text: t('commenting_disabled') });
    else if (!composeAllowed()) content = signInNotice();
    else {
      content = commentForm({
        mode: 'compose', label: t('compose_label'),
        onDone: (comment) => {
          const li = renderComment(comment);
          const empty = listEl.querySelector('.dc-empty');
          if (empty) empty.remove();
          if (state.sort === 'newest' || state.sort === 'top') listEl.prepend(li);
          else if (state.cursor) listEl.prepend(li); // older pages still to load: keep it in view
          else listEl.append(li);
          li.querySelector('article').focus();
          renderCompose(); // identity may have changed (guest token minted)
        },
      });
    }
    composeHost.replaceChildren(...(state.ssoError ? [h('p', { class: 'dc-notice dc-notice-error', role: 'alert', text: state.ssoError })] : []), content);
  }

  function renderMore() {
    moreEl.replaceChildren();
    if (!state.cursor) return;
    const btn = h('button', {
      type: 'button', class: 'dc-btn dc-btn-wide', text: t('load_more'),
      onclick: async () => {
        btn.disabled = true;
        btn.textContent = t('loading_more');
        const first = await load(false);
        if (first) { const a = first.querySelector('article'); if (a) a.focus(); }
      },
    });
    moreEl.append(btn);
  }

  async function load(reset, limit) {
    if (state.loading) { state.again = state.again || reset; return null; } // identity changed mid-load
    state.loading = true;
    root.setAttribute('aria-busy', 'true');
    const q = new URLSearchParams({ site: CFG.site, article: CFG.article, sort: state.sort, limit: String(limit || CFG.pageSize || 50) });
    if (!reset && state.cursor) q.set('cursor', state.cursor);
    let firstNew = null;
    try {
      const { data } = await api('GET', '/comments?' + q);
      auth.viewer = data.viewer || null;
      state.settings = data.settings || {};
      state.thread = data.thread || { closed: false, published_count: 0 };
      state.cursor = data.next_cursor || null;
      if (reset) state.lastId = state.thread.last_id || 0;
      if (reset || !listEl) {
        if (!listEl) buildShell();
        listEl.replaceChildren();
        state.byId.clear();
        renderCompose();
      }
      showCount();
      const frag = document.createDocumentFragment();
      for (const c of data.comments || []) {
        if (state.byId.has(c.id)) continue; // a page boundary shifted under us
        const li = renderComment(c);
        firstNew = firstNew || li;
        frag.append(li);
      }
      listEl.append(frag);
      if (!listEl.children.length) listEl.append(h('li', { class: 'dc-empty', text: t('empty') }));
      renderMore();
    } catch (err) {
      const retry = h('button', { type: 'button', class: 'dc-btn', text: t('retry'), onclick: () => load(true) });
      const msg = h('div', { class: 'dc-panel dc-load-error', role: 'alert' }, h('p', { text: t('load_failed') + ' ' + errorText(err) }), retry);
      if (listEl && !reset) { moreEl.replaceChildren(msg); } else { listEl = null; root.replaceChildren(msg); }
    } finally {
      state.loading = false;
      root.setAttribute('aria-busy', 'false');
      if (!root.dataset.ready && performance.mark) performance.mark('discuss:rendered'); // for RUM and bench/
      root.dataset.ready = 'true';
      notifyResize();
    }
    if (state.again) { state.again = false; return load(true); }
    return firstNew;
  }

  /* ---------- permalinks: #discuss-comment-<id> on the article opens that comment ---------- */
  async function reveal(id) {
    if (!$('c-' + id)) {
      try {
        const { data } = await api('GET', '/comments/' + id + '/context?sort=' + state.sort);
        // Page on (behind "load more") until the comment's top-level comment is in.
        while (!$('c-' + data.place.root_id) && state.cursor &&
               await load(false, Math.min(200, Math.max(data.place.index + 1 - listEl.children.length, 1))));
      } catch (e) { /* removed or never published: the thread shows as it is */ }
    }
    const el = $('c-' + id);
    if (!el) return;
    const art = el.querySelector('article');
    el.classList.add('dc-hl');
    art.focus({ preventScroll: true });
    if (!CFG.parentOrigin || window.parent === window) return art.scrollIntoView({ block: 'center' });
    notifyResize(); // the page sizes the frame first, then scrolls to the comment in it
    window.parent.postMessage({ type: 'discuss:scroll', top: Math.round(art.getBoundingClientRect().top + scrollY) }, CFG.parentOrigin);
  }

  /* ---------- live: poll the thread's revision (ETag/304, cached), then fetch only what is new ---------- */
  let fresh = [], newEl = null;
  const liveQ = () => new URLSearchParams({ site: CFG.site, article: CFG.article });
  async function poll() {
    if (document.hidden || !listEl || state.loading) return;
    try {
      const res = await fetch(CFG.api + '/live?' + liveQ(), { headers: { Accept: 'application/json' } });
      const d = res.ok ? await res.json() : {};
      if (!(d.last_id > state.lastId)) return;
      const r = d.recent || []; // the newest 20: enough unless this widget is further behind
      const list = r.length < 20 || r[0].id <= state.lastId ? r : (await api('GET', '/live/new?' + liveQ() + '&after=' + state.lastId)).data.comments || [];
      for (const c of list.filter((x) => x.id > state.lastId)) {
        state.lastId = Math.max(state.lastId, c.id);
        if (!state.byId.has(c.id)) fresh.push(c);
      }
      showFresh();
    } catch (e) { /* try again next time */ }
  }
  const toMe = (c) => !!c.parent_id && isOwn(state.byId.get(c.parent_id) || {});
  function showFresh() {
    if (!fresh.length) { if (newEl) newEl.remove(); return; }
    const mine = fresh.filter(toMe).length;
    newEl = newEl || h('button', { type: 'button', class: 'dc-btn dc-btn-wide dc-new', onclick: showNew });
    newEl.textContent = tn('new_comments', fresh.length) + (mine ? ' · ' + tn('replies_to_you', mine) : '');
    if (!newEl.isConnected) listEl.before(newEl);
    announce(newEl.textContent);
  }
  function showNew() {
    const list = fresh;
    fresh = [];
    for (const c of list) {
      if (state.byId.has(c.id)) continue;
      const parentLi = c.parent_id && $('c-' + c.parent_id);
      if (parentLi) insertReply(parentLi, c);
      else if (!c.parent_id) {
        const li = renderComment(c);
        if (state.sort === 'oldest' && !state.cursor) listEl.append(li); else listEl.prepend(li);
      }
      const el = $('c-' + c.id);
      if (el && toMe(c)) el.querySelector('.dc-who').append(h('span', { class: 'dc-badge dc-badge-you', text: t('reply_to_you') }));
    }
    refreshCount(list.length);
    showFresh();
  }
  setInterval(poll, (CFG.livePoll || 5) * 1000);

  /* ---------- talk to the publisher page: height only, to its origin only ---------- */
  let lastHeight = 0;
  function notifyResize() {
    if (!CFG.parentOrigin || window.parent === window) return;
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === lastHeight) return;
    lastHeight = height;
    window.parent.postMessage({ type: 'discuss:resize', height }, CFG.parentOrigin);
  }
  if (window.ResizeObserver) new ResizeObserver(notifyResize).observe(document.documentElement);
  window.addEventListener('load', notifyResize);

  /* ---------- sign-in: accounts (a small panel) and publisher SSO (a token from embed.js) ---------- */
  function revoke(token) {
    if (!isSession(token)) return Promise.resolve();
    return fetch(CFG.api + '/auth/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + token } }).catch(() => {});
  }
  function adopt(data, ssoTail) {
    const old = auth.token;
    if (old && !isSession(old)) store.set(GUEST_KEY, old); // back to this guest on sign-out
    else if (old !== data.token) revoke(old);
    auth.setToken(data.token);
    auth.viewer = data.viewer;
    store.set(SSO_KEY, ssoTail || null);
  }
  function dropSession() {
    const old = auth.token;
    auth.setToken(store.get(GUEST_KEY));
    auth.viewer = null;
    store.set(GUEST_KEY, null);
    store.set(SSO_KEY, null);
    return revoke(old);
  }
  async function signOut() {
    await dropSession();
    announce(t('signed_out'));
    await load(true);
    const focus = composeHost.querySelector('.dc-id button, textarea');
    if (focus) focus.focus();
  }
  // The publisher page says who is signed in there: a fresh JWT, or null for nobody.
  async function sso(token) {
    state.ssoError = null;
    const tail = token ? token.slice(-24) : null;
    const current = store.get(SSO_KEY);
    if (tail && tail === current && isSession(auth.token)) return; // this token made our session
    if (!token) { if (current) await dropSession(); return; }
    // A new token for the page: end the session the old one made BEFORE asking for a new session.
    // Signing out ends every session of that reader, so ending it after (in adopt) could end the
    // new one too when the publisher names the same user again (a renamed user).
    if (current && isSession(auth.token)) await dropSession();
    try {
      const { data } = await api('POST', '/auth/sso', { site: CFG.site, token });
      adopt(data, tail);
    } catch (err) {
      if (current) await dropSession(); // never keep posting as whoever the page named before
      state.ssoError = t(err.code === 'sso_token_expired' ? 'sso_expired' : 'sso_failed', { site: CFG.siteName });
    }
  }

  function identityBar() {
    const v = auth.viewer;
    if (v && v.kind !== 'guest') {
      const [pre, post] = t(v.kind === 'sso' ? 'posting_as_sso' : 'posting_as', { site: CFG.siteName }).split('{name}');
      return h('p', { class: 'dc-id' }, avatar({ author: v }),
        h('span', { class: 'dc-id-text' }, pre, h('strong', { text: v.name }), post),
        h('button', { type: 'button', class: 'dc-link dc-acc-open', text: t('acc_open'), onclick: openAccount }),
        v.kind === 'sso' ? null : h('button', { type: 'button', class: 'dc-link', text: t('sign_out'), onclick: signOut }));
    }
    return allowed('account') ? h('p', { class: 'dc-id' }, authButtons()) : null;
  }
  function authButtons() {
    return [h('button', { type: 'button', class: 'dc-link', text: t('sign_in'), onclick: () => openAuth('login') }),
      h('span', { 'aria-hidden': 'true', text: '·' }),
      h('button', { type: 'button', class: 'dc-link', text: t('register'), onclick: () => openAuth('register') })];
  }
  function signInNotice() {
    const viaSso = allowed('sso');
    const account = allowed('account');
    const box = h('div', { class: 'dc-notice dc-signin' },
      h('p', { text: viaSso ? t(account ? 'sso_or_account' : 'sso_only', { site: CFG.siteName }) : t('sign_in_required') }));
    const actions = h('p', { class: 'dc-form-actions' });
    if (viaSso && CFG.ssoLogin) {
      actions.append(h('button', { type: 'button', class: 'dc-btn dc-btn-primary', text: t('sso_sign_in', { site: CFG.siteName }),
        onclick: () => window.parent.postMessage({ type: 'discuss:login' }, CFG.parentOrigin) }));
    }
    if (account) actions.append(...authButtons());
    if (actions.childNodes.length) box.append(actions);
    return box;
  }

  // note: a message above the form (after signing up or resetting); email: prefilled.
  function openAuth(mode, note, email) {
    const id = nextId('a');
    const reg = mode === 'register';
    const err = h('p', { class: 'dc-error', role: 'alert' });
    const field = (name, label, attrs) => h('div', { class: 'dc-field' },
      h('label', { for: id + name, class: 'dc-label', text: label }),
      h('input', Object.assign({ id: id + name, name, class: 'dc-input', required: true }, attrs)));
    const submit = h('button', { type: 'submit', class: 'dc-btn dc-btn-primary', text: t(reg ? 'register' : 'sign_in') });
    const form = h('form', { class: 'dc-panel dc-auth', novalidate: true, 'aria-labelledby': id + 't' },
      h('h3', { class: 'dc-form-title', id: id + 't', text: t(reg ? 'register_title' : 'sign_in_title') }),
      note ? h('p', { class: 'dc-hint dc-auth-note', role: 'status', text: note }) : null,
      reg ? field('display_name', t('display_name_label'), { autocomplete: 'nickname', maxlength: 64 }) : null,
      field('email', t('email_label_required'), { type: 'email', autocomplete: 'email', maxlength: 254 }),
      field('password', t('password_label'), { type: 'password', autocomplete: reg ? 'new-password' : 'current-password', minlength: reg ? 10 : null, 'aria-describedby': reg ? id + 'h' : null }),
      reg ? h('p', { class: 'dc-hint', id: id + 'h', text: t('password_hint') }) : null,
      err,
      h('div', { class: 'dc-form-actions' }, submit,
        h('button', { type: 'button', class: 'dc-btn', text: t('cancel'), onclick: () => { renderCompose(); focusIn('.dc-id button'); } }),
        h('button', { type: 'button', class: 'dc-link dc-switch', text: t(reg ? 'to_sign_in' : 'to_register'), onclick: () => openAuth(reg ? 'login' : 'register') }),
        reg ? null : h('button', { type: 'button', class: 'dc-link dc-forgot', text: t('forgot_link'), onclick: openForgot })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
      const empty = [...form.querySelectorAll('input')].filter((el) => !el.value.trim());
      if (empty.length) {
        empty.forEach((el) => el.setAttribute('aria-invalid', 'true'));
        err.textContent = t('err_fill_in');
        empty[0].focus();
        return;
      }
      const body = Object.fromEntries(new FormData(form));
      body.site = CFG.site;
      if (reg) body.language = T.locale; // the account's emails come in the widget's language
      submit.disabled = true;
      try {
        const { data } = await api('POST', reg ? '/auth/register' : '/auth/login', body);
        // Signing up answers the same for every address: the emailed link creates the account.
        if (reg) return openAuth('login', t('registered_check_email'), body.email);
        adopt(data);
        state.ssoError = null;
        announce(t('signed_in', { name: data.viewer.name }));
        await load(true);
        focusIn('textarea');
      } catch (ex) {
        submit.disabled = false;
        for (const name in ex.fields || {}) { const el = form.querySelector('[name="' + name + '"]'); if (el) el.setAttribute('aria-invalid', 'true'); }
        err.textContent = errorText(ex);
        (form.querySelector('[aria-invalid]') || form.querySelector('input')).focus();
      }
    });
    composeHost.replaceChildren(form);
    if (email) form.querySelector('[name=email]').value = email;
    form.querySelector(email ? '[name=password]' : 'input').focus();
  }
  /* Password reset: the service emails a one-time link back to this article (#discuss-reset=…,
     handed over by embed.js); openReset chooses the new password here. */
  function openForgot() {
    const id = nextId('f');
    const msg = h('p', { class: 'dc-hint', role: 'status' });
    const submit = h('button', { type: 'submit', class: 'dc-btn dc-btn-primary', text: t('forgot_send') });
    const form = h('form', { class: 'dc-panel dc-auth', novalidate: true, 'aria-labelledby': id + 't' },
      h('h3', { class: 'dc-form-title', id: id + 't', text: t('forgot_title') }),
      h('div', { class: 'dc-field' }, h('label', { for: id + 'e', class: 'dc-label', text: t('email_label_required') }),
        h('input', { id: id + 'e', name: 'email', type: 'email', class: 'dc-input', required: true, autocomplete: 'email', maxlength: 254 })),
      msg,
      h('div', { class: 'dc-form-actions' }, submit,
        h('button', { type: 'button', class: 'dc-link dc-switch', text: t('to_sign_in'), onclick: () => openAuth('login') })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const email = form.querySelector('input').value.trim();
      if (!email) { msg.textContent = t('err_fill_in'); return; }
      submit.disabled = true;
      try {
        await api('POST', '/auth/password/forgot', { email, site: CFG.site, url: CFG.url });
        msg.textContent = t('forgot_sent');
      } catch (ex) {
        submit.disabled = false;
        msg.textContent = errorText(ex);
      }
    });
    composeHost.replaceChildren(form);
    form.querySelector('input').focus();
  }

  function openReset(token) {
    const id = nextId('r');
    const err = h('p', { class: 'dc-error', role: 'alert' });
    const input = h('input', { id: id + 'p', name: 'password', type: 'password', class: 'dc-input', required: true,
      autocomplete: 'new-password', minlength: 10, 'aria-describedby': id + 'h' });
    const submit = h('button', { type: 'submit', class: 'dc-btn dc-btn-primary', text: t('reset_save') });
    const form = h('form', { class: 'dc-panel dc-auth dc-reset', novalidate: true, 'aria-labelledby': id + 't' },
      h('h3', { class: 'dc-form-title', id: id + 't', text: t('forgot_title') }),
      h('div', { class: 'dc-field' }, h('label', { for: id + 'p', class: 'dc-label', text: t('acc_password_new') }), input),
      h('p', { class: 'dc-hint', id: id + 'h', text: t('password_hint') }), err,
      h('div', { class: 'dc-form-actions' }, submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.textContent = '';
      try {
        await api('POST', '/auth/password/reset', { token, password: input.value });
        if (isSession(auth.token)) await dropSession(); // every session ended on the server
        openAuth('login', t('reset_done'));
      } catch (ex) {
        submit.disabled = false;
        err.textContent = ex.fields && ex.fields.password ? t('err_password') : errorText(ex);
        input.focus();
      }
    });
    composeHost.replaceChildren(form);
    input.focus();
    if (CFG.parentOrigin) window.parent.postMessage({ type: 'discuss:scroll', top: form.offsetTop }, CFG.parentOrigin);
  }

  /* ---------- "My account": reply emails, data download, password, deletion ---------- */
  async function openAccount() {
    let v = auth.viewer;
    try { v = (await api('GET', '/me')).data.viewer || v; } catch (e) { /* show what we know */ }
    if (!v || v.kind === 'guest') return renderCompose();
    const id = nextId('acc');
    const status = h('p', { class: 'dc-acc-status', role: 'status' });
    const say = (msg) => { status.textContent = msg; };
    const fail = (ex) => say(errorText(ex));
    const back = () => { renderCompose(); focusIn('.dc-acc-open'); };
    const section = (title, ...kids) => h('section', { class: 'dc-acc-sec', 'aria-label': title }, h('h4', { class: 'dc-acc-h', text: title }), ...kids);

    // 1. Reply emails: only to a confirmed address.
    const verified = v.has_email && v.email_verified;
    const box = h('input', { type: 'checkbox', id: id + 'n', checked: !!v.notify_replies && verified, disabled: !verified,
      'aria-describedby': verified ? null : id + 'nh',
      onchange: async () => {
        box.disabled = true;
        try {
          const { data } = await api('PATCH', '/me', { notify_replies: box.checked });
          box.checked = !!data.viewer.notify_replies;
          say(t(box.checked ? 'acc_notify_on' : 'acc_notify_off'));
        } catch (ex) { box.checked = !box.checked; fail(ex); }
        box.disabled = false;
      } });
    const resend = v.kind === 'account' && v.has_email && !v.email_verified ? h('button', {
      type: 'button', class: 'dc-btn', text: t('acc_resend'),
      onclick: async () => {
        resend.disabled = true;
        try { await api('POST', '/auth/verify/resend'); say(t('acc_resent')); } catch (ex) { resend.disabled = false; fail(ex); }
      } }) : null;
    const notify = section(t('acc_notify_title'),
      h('label', { class: 'dc-radio', for: id + 'n' }, box, t('acc_notify_label')),
      verified ? null : h('p', { class: 'dc-hint', id: id + 'nh', text: t(v.has_email ? 'acc_notify_unverified' : 'acc_notify_no_email', { site: CFG.siteName }) }),
      resend ? h('div', { class: 'dc-form-actions' }, resend) : null);

    // 2. Download: the export needs the bearer header, so fetch it and hand the file over as a Blob.
    const dl = h('button', {
      type: 'button', class: 'dc-btn', text: t('acc_download'),
      onclick: async () => {
        dl.disabled = true;
        try {
          const res = await fetch(CFG.api + '/me/export', { headers: { Authorization: 'Bearer ' + auth.token } });
          if (!res.ok) throw { code: res.status === 401 ? 'sign_in_required' : 'http_' + res.status };
          const url = URL.createObjectURL(await res.blob());
          const a = h('a', { href: url, download: 'my-comments.json', hidden: true });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60000);
          say(t('acc_downloaded'));
        } catch (ex) { fail(ex.code ? ex : { code: 'network' }); }
        dl.disabled = false;
      } });
    const data = section(t('acc_data_title'), h('p', { class: 'dc-hint', text: t('acc_download_hint') }), h('div', { class: 'dc-form-actions' }, dl));

    // 3. Password (comment accounts only; SSO readers have none here).
    let pw = null;
    if (v.kind === 'account') {
      const perr = h('p', { class: 'dc-error', role: 'alert' });
      const field = (name, label, auto) => h('div', { class: 'dc-field' },
        h('label', { for: id + name, class: 'dc-label', text: label }),
        h('input', { id: id + name, name, type: 'password', class: 'dc-input', autocomplete: auto, required: true,
          'aria-describedby': auto === 'new-password' ? id + 'ph' : null }));
      const psub = h('button', { type: 'submit', class: 'dc-btn', text: t('acc_password_save') });
      pw = h('form', { class: 'dc-acc-pw', novalidate: true },
        field('current_password', t('acc_password_current'), 'current-password'),
        field('new_password', t('acc_password_new'), 'new-password'),
        h('p', { class: 'dc-hint', id: id + 'ph', text: t('password_hint') }), perr, h('div', { class: 'dc-form-actions' }, psub));
      pw.addEventListener('submit', async (e) => {
        e.preventDefault();
        perr.textContent = '';
        pw.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
        const body = Object.fromEntries(new FormData(pw));
        psub.disabled = true;
        try {
          await api('POST', '/me/password', body);
          pw.reset();
          say(t('acc_password_changed'));
        } catch (ex) {
          const bad = ex.code === 'invalid_credentials' ? 'current_password' : Object.keys(ex.fields || {})[0];
          const el = bad && pw.querySelector('[name="' + bad + '"]');
          if (el) { el.setAttribute('aria-invalid', 'true'); el.focus(); }
          perr.textContent = bad === 'current_password' ? t('acc_password_wrong') : bad ? t('err_password') : errorText(ex);
        }
        psub.disabled = false;
      });
      pw = section(t('acc_password_title'), pw);
    }

    // 4. Delete, after an in-page confirmation that says what happens to the comments.
    const confirmBox = h('div', { class: 'dc-confirm', role: 'group', 'aria-labelledby': id + 'dq', hidden: true });
    const del = h('button', {
      type: 'button', class: 'dc-btn', text: t('acc_delete'), 'aria-expanded': 'false', 'aria-controls': id + 'dq',
      onclick: () => {
        const derr = h('p', { class: 'dc-error', role: 'alert' });
        const yes = h('button', {
          type: 'button', class: 'dc-btn dc-btn-danger', text: t('acc_delete_yes'),
          onclick: async () => {
            yes.disabled = true;
            try {
              const { data: out } = await api('DELETE', '/me');
              auth.setToken(null); // the server deleted every session already
              await dropSession();
              announce(t('acc_deleted', out.comments || { anonymized: 0, removed: 0 }));
              await load(true);
              focusIn('.dc-id button, input, textarea');
            } catch (ex) { yes.disabled = false; derr.textContent = errorText(ex); }
          } });
        const no = h('button', { type: 'button', class: 'dc-btn', text: t('cancel'),
          onclick: () => { confirmBox.hidden = true; del.setAttribute('aria-expanded', 'false'); del.focus(); } });
        confirmBox.replaceChildren(h('p', { id: id + 'dq', class: 'dc-acc-warn', text: t('acc_delete_confirm') }),
          h('p', { text: t('acc_delete_comments') }), derr, h('div', { class: 'dc-form-actions' }, yes, no));
        confirmBox.hidden = false;
        del.setAttribute('aria-expanded', 'true');
        no.focus();
      } });
    const gone = section(t('acc_delete_title'), h('div', { class: 'dc-form-actions' }, del), confirmBox);

    const heading = h('h3', { class: 'dc-form-title', id: id + 't', tabindex: '-1', text: t('acc_title') });
    const panel = h('div', { class: 'dc-panel dc-account', role: 'region', 'aria-labelledby': id + 't' },
      h('div', { class: 'dc-form-head' }, heading, h('button', { type: 'button', class: 'dc-link', text: t('acc_close'), onclick: back })),
      status, notify, data, pw, gone);
    composeHost.replaceChildren(panel);
    heading.focus();
  }
  const focusIn = (sel) => { const el = composeHost.querySelector(sel); if (el) el.focus(); };

  // Messages from the publisher page: only from our parent window, only from the origin the
  // server checked against the site's allowed origins (CFG.parentOrigin).
  let started = false;
  let ssoChain = Promise.resolve();
  let firstLoad;
  const start = () => {
    if (!started) { started = true; firstLoad = load(true).then(() => CFG.focus && reveal(CFG.focus)); }
    return firstLoad;
  };
  window.addEventListener('message', (e) => {
    if (!CFG.parentOrigin || e.source !== window.parent || e.origin !== CFG.parentOrigin) return;
    const d = e.data;
    if (d && d.type === 'discuss:focus') return reveal(Number(d.id));
    if (d && d.type === 'discuss:reset' && typeof d.token === 'string' && d.token.length < 2048) {
      const token = d.token;
      return void start().then(() => openReset(token));
    }
    if (!d || d.type !== 'discuss:sso') return;
    const token = typeof d.token === 'string' && d.token.length < 8192 ? d.token : null;
    ssoChain = ssoChain.then(() => sso(token)).then(() => (started ? load(true) : start()));
  });

  // For sign-in integrations inside the comment host: set a token and re-render as that viewer.
  window.discuss = {
    setToken(token) { auth.setToken(token); return load(true); },
    get viewer() { return auth.viewer; },
    reload: () => load(true),
    signOut,
  };

  if (CFG.parentOrigin && window.parent !== window) {
    window.parent.postMessage({ type: 'discuss:ready', lang: T.locale }, CFG.parentOrigin);
    if (CFG.sso) setTimeout(start, 3000); else start(); // wait (briefly) for the page's SSO state
  } else {
    start();
  }
})();
