// The agent console: queue | conversation | account. Plain DOM, no framework, no inline script (strict CSP).
// Server text (debtor messages above all) is untrusted: it only ever reaches the page through textContent.
'use strict';

(() => {
  const LANGUAGES = ['fr', 'en'];
  const LANGUAGE_KEY = 'console.language';
  const REFRESH_MS = 30000;
  const API = '/console/api';

  const state = {
    lang: 'en',
    dict: {},
    csrf: null,
    agent: null,
    queue: [],
    queueAt: 0,
    queueError: null,
    openId: null,
    view: null,
    viewAt: 0,
    viewError: null,
    loadSeq: 0,
    transcriptKey: '',
    notesKey: '',
    unread: new Set(),
    drafts: new Map(), // conversation id -> {reply, note}
    summaryCollapsed: false,
    lastError: null, // {slot, error} so that a language switch translates it
    counterOffer: null, // {conversationId, problem}
    commitmentResult: null, // {conversationId, result}
    reviewDrafts: new Map(), // `${conversation id}:${dispute id}` -> {outcome, explanation, balance, close}
    showAllContacts: { upcoming: false, past: false },
    busy: new Set(),
    ws: null,
    wsRetry: 0,
    wsTimer: null,
    leaving: false,
  };

  // -----------------------------------------------------------------------------------------------------
  // Small helpers
  // -----------------------------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** A DOM element; children are nodes or plain strings (always text, never parsed as HTML). */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = value;
        else if (key === 'testid') node.setAttribute('data-testid', value);
        else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
        else if (value === true) node.setAttribute(key, '');
        else node.setAttribute(key, String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false || child === '') continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** Puts exactly `nodes` (in order) in `parent`; leaves it alone when they are already there (keeps focus). */
  function show(parent, nodes) {
    const wanted = nodes.filter(Boolean);
    const current = Array.from(parent.children);
    if (current.length === wanted.length && current.every((node, i) => node === wanted[i])) return;
    parent.replaceChildren(...wanted);
  }

  const safeClass = (value) => String(value ?? '').replace(/[^a-z0-9_-]/gi, '');

  // -----------------------------------------------------------------------------------------------------
  // Language
  // -----------------------------------------------------------------------------------------------------

  function initialLanguage() {
    try {
      const stored = window.localStorage.getItem(LANGUAGE_KEY);
      if (LANGUAGES.includes(stored)) return stored;
    } catch (_) { /* storage disabled */ }
    const browser = String(navigator.language || 'en').slice(0, 2).toLowerCase();
    return LANGUAGES.includes(browser) ? browser : 'en';
  }

  function lookup(key) {
    const own = (state.dict[state.lang] || {})[key];
    return own !== undefined ? own : (state.dict.en || {})[key];
  }

  function t(key, vars) {
    let text = lookup(key);
    if (text === undefined) return key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, (match, name) => (vars[name] === undefined || vars[name] === null ? match : String(vars[name])));
    }
    return text;
  }

  /** The translation of an enumerated value (reason, state, channel...), or the value made readable. */
  function tv(prefix, value) {
    if (value === null || value === undefined || value === '') return t('common.none');
    const text = lookup(`${prefix}.${value}`);
    return text !== undefined ? text : String(value).replace(/_/g, ' ');
  }

  function locale() {
    return state.lang === 'fr' ? 'fr-FR' : 'en-GB';
  }

  function parseInstant(iso) {
    if (!iso) return null;
    const text = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`; // the api sends aware UTC times
    const date = new Date(text);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function formatDateTime(iso) {
    const date = parseInstant(iso);
    if (!date) return iso || '';
    const options = { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
    if (date.getFullYear() !== new Date().getFullYear()) options.year = 'numeric';
    return new Intl.DateTimeFormat(locale(), options).format(date);
  }

  function formatDate(isoDate) {
    if (!isoDate) return '';
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
    // A calendar date, not an instant: built in local time so it never moves by a day.
    const date = match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : parseInstant(isoDate);
    if (!date || Number.isNaN(date.getTime())) return isoDate;
    return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'long', year: 'numeric' }).format(date);
  }

  /** An instant in the debtor's local time: the wall clock the api wrote when it gave the offset (contacts are
   * given that way), else the instant converted into the account's timezone. */
  function formatDebtorTime(iso, zone) {
    const options = { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
    const local = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?[+-]\d{2}:\d{2}$/.exec(iso || '');
    let date;
    if (local) {
      date = new Date(Date.UTC(Number(local[1]), Number(local[2]) - 1, Number(local[3]), Number(local[4]), Number(local[5])));
      options.timeZone = 'UTC'; // the wall clock as given, whatever the agent's own timezone
    } else {
      date = parseInstant(iso);
      if (zone) options.timeZone = zone;
    }
    if (!date) return iso || '';
    if (date.getUTCFullYear() !== new Date().getFullYear()) options.year = 'numeric';
    try {
      return new Intl.DateTimeFormat(locale(), options).format(date);
    } catch (_) { // a timezone this browser does not know: the agent's own time, rather than nothing
      delete options.timeZone;
      return new Intl.DateTimeFormat(locale(), options).format(date);
    }
  }

  // Money: integer minor units of a currency, never a float on the way (as the api's money module).
  const MAX_MINOR = 1e11;

  function currencyDigits(currency) {
    try {
      return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    } catch (_) {
      return 2;
    }
  }

  /** `minor` units as an exact decimal string ("-1234.50"), which Intl formats without going through a float. */
  function minorToDecimal(minor, digits) {
    const units = String(Math.abs(Math.trunc(Number(minor) || 0))).padStart(digits + 1, '0');
    const whole = units.slice(0, units.length - digits);
    return `${Number(minor) < 0 ? '-' : ''}${whole}${digits ? `.${units.slice(units.length - digits)}` : ''}`;
  }

  /** Money as the panel's other amounts are written (the conversation's language: 1 234,50 € or €1,234.50). */
  function formatMoney(minor, currency, language) {
    const digits = currencyDigits(currency);
    const decimal = minorToDecimal(minor, digits);
    try {
      return new Intl.NumberFormat(language === 'fr' ? 'fr-FR' : 'en-GB',
        { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(decimal);
    } catch (_) {
      return `${decimal} ${currency}`;
    }
  }

  /** An amount as an agent types it ("1 234,50", "1234.5", "50") in minor units of `currency`, read exactly
   * from its digits; null when it is not an amount of that currency (more decimals than it has, not digits). */
  function parseMinor(text, currency) {
    const cleaned = String(text ?? '').trim().replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
    const match = /^(\d*)(?:\.(\d*))?$/.exec(cleaned);
    if (!match || !(match[1] + (match[2] || '')).length) return null;
    const digits = currencyDigits(currency);
    const fraction = (match[2] || '').replace(/0+$/, '');
    if (fraction.length > digits) return null;
    const minor = Number(`${match[1] || '0'}${fraction.padEnd(digits, '0')}`);
    return Number.isSafeInteger(minor) && minor <= MAX_MINOR ? minor : null;
  }

  function formatWait(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    if (total < 60) return t('wait.less_than_minute');
    const minutes = Math.floor(total / 60);
    if (minutes < 60) return t('wait.minutes', { m: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return t('wait.hours', { h: hours, m: String(minutes % 60).padStart(2, '0') });
    return t('wait.days', { d: Math.floor(hours / 24), h: hours % 24 });
  }

  function waitNode(seconds, fetchedAt, key = 'queue.waiting') {
    const node = el('span', { class: 'wait', 'data-waiting': String(Number(seconds) || 0), 'data-at': String(fetchedAt), 'data-key': key });
    updateWait(node);
    return node;
  }

  function updateWait(node) {
    const seconds = Number(node.dataset.waiting) + (Date.now() - Number(node.dataset.at)) / 1000;
    node.textContent = node.dataset.key ? t(node.dataset.key, { time: formatWait(seconds) }) : formatWait(seconds);
  }

  function updateWaitTimes() {
    for (const node of document.querySelectorAll('.wait[data-waiting]')) updateWait(node);
  }

  function signalText(signal) {
    const kind = tv('signal', signal.kind);
    if (typeof signal.confidence !== 'number') return kind;
    return t('signal.with_confidence', { kind, pct: Math.round(signal.confidence * 100) });
  }

  function whoRecorded(actor) {
    const text = String(actor || '');
    const agentMatch = /^agent:(\d+)$/.exec(text);
    if (agentMatch) {
      return state.agent && String(state.agent.id) === agentMatch[1] ? t('who.me') : t('who.agent', { id: agentMatch[1] });
    }
    if (/^creditor(:\d+)?$/.test(text)) return t('who.creditor');
    return tv('who', text);
  }

  function applyStaticTranslations() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
    for (const node of document.querySelectorAll('[data-i18n-aria-label]')) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
    // Detached pieces (forms not shown right now) are translated too.
    for (const root of detached) {
      for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
      if (root.dataset && root.dataset.i18n) root.textContent = t(root.dataset.i18n);
      for (const node of root.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
      for (const node of root.querySelectorAll('[data-i18n-aria-label]')) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
    }
    refs.language.value = state.lang;
  }

  function setLanguage(lang) {
    if (!LANGUAGES.includes(lang)) return;
    state.lang = lang;
    try { window.localStorage.setItem(LANGUAGE_KEY, lang); } catch (_) { /* ignore */ }
    // An error on show is shown again in the new language (a rebuilt part of the panel may have dropped it).
    const errorShown = Boolean(document.querySelector('[data-testid="action-error"]'));
    applyStaticTranslations();
    setLive(refs.live.dataset.state === 'connected');
    state.transcriptKey = '';
    renderQueue();
    renderConversation();
    if (state.lastError && errorShown) showActionError(state.lastError.slot, state.lastError.error);
  }

  // -----------------------------------------------------------------------------------------------------
  // The JSON API
  // -----------------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super(`HTTP ${status}`);
      this.status = status;
      this.body = body || null;
      const type = body && typeof body.type === 'string' ? body.type : '';
      this.code = type.startsWith('urn:problem:') ? type.slice('urn:problem:'.length) : null;
      this.redirecting = false;
    }
  }

  function toLogin() {
    state.leaving = true;
    window.location.assign('/console/login');
  }

  async function api(method, path, body, retried = false) {
    const options = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      options.headers['Content-Type'] = 'application/json';
      if (state.csrf) options.headers['X-CSRF-Token'] = state.csrf;
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(API + path, options);
    } catch (_) {
      throw new ApiError(0, null);
    }
    if (response.status === 401) {
      const error = new ApiError(401, null);
      error.redirecting = true;
      toLogin();
      throw error;
    }
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (_) { data = null; }
    }
    if (response.status === 403 && method !== 'GET' && !retried && !(data && data.type)) {
      // The CSRF token may have changed (signed in again in another tab): read it again and retry once.
      try {
        const me = await api('GET', '/me');
        state.csrf = me.csrf_token;
        return api(method, path, body, true);
      } catch (error) {
        throw error;
      }
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function errorText(error) {
    if (!(error instanceof ApiError)) return t('error.generic', { status: '?' });
    if (error.status === 0) return t('error.network');
    if (error.code && lookup(`error.${error.code}`) !== undefined) {
      return t(`error.${error.code}`, { detail: error.body && typeof error.body.detail === 'string' ? error.body.detail : '' });
    }
    if (error.status === 429) return t('error.too_many_sign_ins');
    const detail = error.body ? error.body.detail : null;
    if (Array.isArray(detail)) {
      // FastAPI validation errors: [{loc: [..., field], msg}]
      const parts = detail.map((item) => {
        const loc = Array.isArray(item.loc) ? item.loc : [];
        const field = loc.length ? String(loc[loc.length - 1]) : '';
        const label = field && lookup(`field.${field}`) !== undefined ? t(`field.${field}`) : field;
        return label ? `${label} : ${item.msg}` : String(item.msg || '');
      });
      return t('error.detail', { detail: parts.join(' ; ') });
    }
    if (error.status === 403) return t('error.forbidden');
    if (typeof detail === 'string' && detail) return t('error.detail', { detail });
    return t('error.generic', { status: error.status });
  }

  // -----------------------------------------------------------------------------------------------------
  // Error and feedback slots (at most one action error on the page at a time)
  // -----------------------------------------------------------------------------------------------------

  function clearActionErrors() {
    state.lastError = null;
    for (const node of document.querySelectorAll('[data-testid="action-error"]')) node.remove();
  }

  function errorSlot(name) {
    return document.querySelector(`[data-error-slot="${name}"]`) || document.querySelector('[data-error-slot="header"]');
  }

  function showActionError(slot, error) {
    for (const node of document.querySelectorAll('[data-testid="action-error"]')) node.remove();
    state.lastError = { slot, error };
    const content = [];
    if (typeof error === 'string') {
      content.push(el('p', { text: t(error) }));
    } else if (error instanceof ApiError && error.code === 'outside_policy') {
      const reasons = Array.isArray(error.body.reasons) ? error.body.reasons : [];
      content.push(el('p', { class: 'strong', text: t('commitment.outside_title') }));
      content.push(el('ul', null, reasons.map((reason) => el('li', { 'data-reason': reason, text: tv('policy_reason', reason) }))));
      content.push(el('p', { text: t('commitment.outside_explain') }));
    } else if (error instanceof ApiError && error.status === 422 && slot === 'commitment' && typeof (error.body && error.body.detail) === 'string' && !error.code) {
      content.push(el('p', { text: t('error.invalid_amount', { detail: error.body.detail }) }));
    } else {
      content.push(el('p', { text: errorText(error) }));
    }
    const box = el('div', { class: 'action-error', role: 'alert', testid: 'action-error' }, content);
    const target = errorSlot(slot);
    if (target) target.append(box);
  }

  function renderCommitmentFeedback() {
    const open = state.openId;
    const counter = state.counterOffer && state.counterOffer.conversationId === open ? state.counterOffer.offer : null;
    const result = state.commitmentResult && state.commitmentResult.conversationId === open ? state.commitmentResult.result : null;
    if (counter) {
      const lines = [
        el('h4', { text: t('commitment.counter_offer') }),
        el('p', { class: 'strong' }, tv('kind', counter.kind), counter.frequency_text && counter.kind === 'instalments' ? ` · ${counter.frequency_text}` : ''),
        counter.schedule_text ? el('p', { class: 'schedule', text: counter.schedule_text }) : null,
        counter.total_text ? el('p', { class: 'total', text: t('commitment.total', { total: counter.total_text }) }) : null,
      ];
      show(refs.slotCounterOffer, [el('div', { class: 'counter-offer', testid: 'counter-offer', role: 'status' }, lines)]);
    } else {
      show(refs.slotCounterOffer, []);
    }
    if (result) {
      show(refs.slotCommitmentResult, [el('div', { class: 'commitment-result', testid: 'commitment-result', role: 'status',
        'data-reference': result.commitment_reference, 'data-confirmation-number': result.confirmation_number },
      el('p', { text: t('commitment.result', { reference: result.commitment_reference, number: result.confirmation_number }) }),
      result.outside_policy ? el('p', { class: 'hint', text: t('commitment.result_outside') }) : null)]);
    } else {
      show(refs.slotCommitmentResult, []);
    }
  }

  /** Runs one agent action: button busy, errors shown where the action is, then the views refreshed. */
  async function act(button, slot, run, { onError, refresh = true } = {}) {
    if (state.busy.has(button)) return undefined;
    clearActionErrors();
    state.busy.add(button);
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    const conversationId = state.openId;
    let result;
    try {
      result = await run();
    } catch (error) {
      if (!error.redirecting) {
        if (!onError || !onError(error)) showActionError(slot, error);
      }
      result = undefined;
    } finally {
      state.busy.delete(button);
      button.removeAttribute('aria-busy');
      syncControls();
    }
    if (refresh && conversationId === state.openId) await Promise.all([loadConversation(), loadQueue()]);
    return result;
  }

  // -----------------------------------------------------------------------------------------------------
  // Live updates
  // -----------------------------------------------------------------------------------------------------

  function setLive(connected) {
    refs.live.dataset.state = connected ? 'connected' : 'disconnected';
    refs.liveText.textContent = t(connected ? 'live.connected' : 'live.disconnected');
    refs.live.title = t(connected ? 'live.title_connected' : 'live.title_disconnected');
  }

  function connectLive() {
    clearTimeout(state.wsTimer);
    if (state.leaving) return;
    let socket;
    try {
      socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/console/ws');
    } catch (_) {
      scheduleReconnect();
      return;
    }
    state.ws = socket;
    socket.addEventListener('open', () => {
      if (state.ws !== socket) return;
      state.wsRetry = 0;
      setLive(true);
      // Whatever happened while we were away.
      scheduleQueueRefresh();
      if (state.openId) scheduleConversationRefresh();
    });
    socket.addEventListener('message', (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (_) { return; }
      if (data && typeof data === 'object') onLiveEvent(data);
    });
    socket.addEventListener('close', () => {
      if (state.ws !== socket) return;
      state.ws = null;
      setLive(false);
      if (state.leaving) return;
      scheduleQueueRefresh(); // a 401 there means the session is over: back to the sign-in page
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (state.leaving) return;
    const delay = Math.min(30000, 1000 * 2 ** state.wsRetry) * (0.8 + Math.random() * 0.4);
    state.wsRetry = Math.min(state.wsRetry + 1, 5);
    clearTimeout(state.wsTimer);
    state.wsTimer = setTimeout(connectLive, delay);
  }

  function onLiveEvent(event) {
    switch (event.type) {
      case 'hello':
        setLive(true);
        break;
      case 'queue_changed':
        scheduleQueueRefresh();
        break;
      case 'message':
      case 'conversation_changed':
        if (event.conversation_id && event.conversation_id === state.openId) {
          scheduleConversationRefresh();
        } else if (event.type === 'message' && event.conversation_id) {
          state.unread.add(event.conversation_id);
        }
        scheduleQueueRefresh();
        break;
      default:
        break;
    }
  }

  /** Coalesces bursts of events into one request, and never runs two of the same request at once. */
  function coalesced(task, delay) {
    let timer = null;
    let running = false;
    let again = false;
    const run = async () => {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      try { await task(); } finally {
        running = false;
        if (again) { again = false; trigger(); }
      }
    };
    const trigger = () => { if (!timer) timer = setTimeout(run, delay); };
    return trigger;
  }

  const scheduleQueueRefresh = coalesced(() => loadQueue(), 100);
  const scheduleConversationRefresh = coalesced(() => loadConversation(), 100);

  // -----------------------------------------------------------------------------------------------------
  // The queue
  // -----------------------------------------------------------------------------------------------------

  async function loadQueue() {
    try {
      const data = await api('GET', '/queue');
      state.queue = Array.isArray(data && data.handoffs) ? data.handoffs : [];
      state.queueAt = Date.now();
      state.queueError = null;
    } catch (error) {
      if (error.redirecting) return;
      state.queueError = error;
    }
    renderQueue();
  }

  function renderQueue() {
    if (state.queueError) {
      refs.queueError.textContent = t('queue.load_error', { error: errorText(state.queueError) });
      refs.queueError.hidden = false;
    } else {
      refs.queueError.hidden = true;
    }
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('[data-testid="queue-item"]');
    const focusedId = focused ? focused.dataset.conversationId : null;
    const items = state.queue.map(queueItem);
    refs.queue.replaceChildren(...items);
    refs.queueEmpty.hidden = state.queue.length > 0 || Boolean(state.queueError);
    refs.queueCount.textContent = state.queue.length ? String(state.queue.length) : '';
    const waiting = state.queue.filter((h) => h.status === 'open').length;
    document.title = (waiting ? `(${waiting}) ` : '') + t('app.title');
    if (focusedId) {
      const again = refs.queue.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"] button`);
      if (again) again.focus();
    }
  }

  function queueItem(handoff) {
    const summary = handoff.summary || {};
    const priority = Number(handoff.priority);
    const mine = Boolean(handoff.claimed_by && state.agent && handoff.claimed_by.id === state.agent.id);
    const selected = handoff.conversation_id === state.openId;
    const who = summary.reference
      ? el('span', { class: 'who' }, el('span', { class: 'reference', text: summary.reference }), summary.debtor_name ? ` · ${summary.debtor_name}` : '')
      : el('span', { class: 'who muted', text: t('queue.not_verified') });
    const claim = handoff.claimed_by
      ? el('span', { class: mine ? 'claimed mine' : 'claimed', text: mine ? t('queue.claimed_by_me') : t('queue.claimed_by', { name: handoff.claimed_by.name }) })
      : el('span', { class: 'unclaimed', text: t('queue.unclaimed') });
    const also = Array.isArray(summary.also) && summary.also.length
      ? el('div', { class: 'queue-line small muted', text: t('queue.also', { reasons: summary.also.map((r) => tv('reason', r)).join(', ') }) })
      : null;
    const button = el('button', { type: 'button', class: 'queue-open', 'aria-current': selected ? 'true' : null },
      el('span', { class: 'queue-line queue-top' },
        el('span', { class: 'reason', text: tv('reason', handoff.reason) }),
        el('span', { class: `badge priority-badge priority-${safeClass(priority)}`, title: `${t('priority.label')} ${priority}`, text: tv('priority', priority) })),
      el('span', { class: 'queue-line' }, who),
      el('span', { class: 'queue-line small muted' },
        waitNode(handoff.waiting_seconds, state.queueAt), ' · ', tv('channel', handoff.channel),
        handoff.language ? ` · ${String(handoff.language).toUpperCase()}` : ''),
      el('span', { class: 'queue-line small' }, claim,
        state.unread.has(handoff.conversation_id) && !selected ? el('span', { class: 'badge new-badge', text: t('queue.new_message') }) : null),
      handoff.state === 'bot' ? el('span', { class: 'queue-line small muted', text: t('queue.bot_meanwhile') }) : null,
      also);
    const item = el('li', {
      class: `queue-item priority-${safeClass(priority)} status-${safeClass(handoff.status)}${selected ? ' selected' : ''}${mine ? ' mine' : ''}`,
      testid: 'queue-item',
      'data-conversation-id': handoff.conversation_id,
      'data-priority': String(handoff.priority),
      'data-reason': handoff.reason,
      'data-status': handoff.status,
    }, button);
    item.addEventListener('click', () => openConversation(handoff.conversation_id));
    return item;
  }

  // -----------------------------------------------------------------------------------------------------
  // One conversation
  // -----------------------------------------------------------------------------------------------------

  function saveDrafts() {
    if (!state.openId) return;
    state.drafts.set(state.openId, { reply: refs.replyText.value, note: refs.noteText.value });
  }

  function openConversation(id) {
    if (!id) return;
    if (id === state.openId) {
      loadConversation();
      return;
    }
    saveDrafts();
    clearActionErrors();
    state.openId = id;
    state.view = null;
    state.viewError = null;
    state.transcriptKey = '';
    state.unread.delete(id);
    const draft = state.drafts.get(id) || { reply: '', note: '' };
    refs.replyText.value = draft.reply;
    refs.noteText.value = draft.note;
    for (const form of [refs.commitmentForm, refs.verifyForm, refs.disputeForm, refs.vulnerabilityReviewForm]) form.reset();
    refs.finishNote.value = '';
    state.showAllContacts = { upcoming: false, past: false };
    updateKindFields();
    updateCareFields();
    try { history.replaceState(null, '', `#conversation=${encodeURIComponent(id)}`); } catch (_) { /* ignore */ }
    renderQueue();
    renderConversation();
    loadConversation(id);
  }

  async function loadConversation(id = state.openId) {
    if (!id) return;
    const seq = ++state.loadSeq;
    let view;
    try {
      view = await api('GET', `/conversations/${encodeURIComponent(id)}`);
    } catch (error) {
      if (error.redirecting || seq !== state.loadSeq || id !== state.openId) return;
      state.viewError = error;
      if (!state.view) renderConversation();
      return;
    }
    if (seq !== state.loadSeq || id !== state.openId) return; // a newer answer is coming, or another is open
    state.view = view;
    state.viewAt = Date.now();
    state.viewError = null;
    renderConversation();
  }

  function renderConversation() {
    const view = state.view;
    if (!view) {
      show(refs.slotConversation, []);
      refs.conversationPlaceholder.hidden = false;
      refs.conversationPlaceholder.textContent = !state.openId ? t('conversation.none')
        : state.viewError ? t('conversation.load_error', { error: errorText(state.viewError) }) : t('conversation.loading');
      renderAccount(null);
      return;
    }
    const conversation = view.conversation;
    const handoff = view.handoff;
    const mine = Boolean(view.claimed_by_me);
    refs.conversationPlaceholder.hidden = true;
    refs.conversation.dataset.conversationId = conversation.id;
    refs.conversation.dataset.state = conversation.state;
    refs.conversation.dataset.claimedByMe = mine ? 'true' : 'false';
    refs.conversation.classList.toggle('is-mine', mine);
    show(refs.slotConversation, [refs.conversation]);

    // Title and facts
    const summary = (handoff && handoff.summary) || {};
    const name = view.account ? view.account.debtor_name : summary.debtor_name;
    const reference = view.account ? view.account.reference : summary.reference;
    refs.conversationTitle.textContent = name ? `${name}${reference ? ` · ${reference}` : ''}` : t('conversation.unverified_debtor');
    const chips = [
      el('span', { class: 'chip', text: tv('channel', conversation.channel) }),
      el('span', { class: `chip state-${safeClass(conversation.state)}`, text: tv('state', conversation.state) }),
      el('span', { class: conversation.verified ? 'chip ok' : 'chip warn', text: t(conversation.verified ? 'conversation.verified' : 'conversation.not_verified') }),
      conversation.language ? el('span', { class: 'chip', text: t('conversation.language', { language: tv('language', conversation.language) }) }) : null,
      handoff
        ? el('span', { class: mine ? 'chip mine' : 'chip', text: mine ? t('conversation.claimed_by_me')
          : handoff.claimed_by ? t('conversation.claimed_by', { name: handoff.claimed_by.name }) : t('conversation.not_claimed') })
        : el('span', { class: 'chip', text: t('conversation.no_handoff') }),
      el('span', { class: 'chip subtle', text: t('conversation.started', { time: formatDateTime(conversation.created_at) }) }),
    ];
    refs.conversationChips.replaceChildren(...chips.filter(Boolean));

    const warnings = [];
    if (conversation.opted_out) warnings.push(el('p', { class: 'warning danger', role: 'note', testid: 'opted-out', text: t('conversation.opted_out') }));
    if (conversation.channel === 'whatsapp' && conversation.whatsapp_window_open === false) {
      warnings.push(el('p', { class: 'warning', role: 'note', testid: 'whatsapp-window-closed', text: t('conversation.whatsapp_closed') }));
    }
    if (conversation.locked) warnings.push(el('p', { class: 'warning', role: 'note', text: t('conversation.locked') }));
    refs.conversationWarnings.replaceChildren(...warnings);

    show(refs.conversationActions, mine ? [refs.finishNoteField, refs.release, refs.handBack, refs.close] : [refs.claimHint, refs.claim]);

    // Handoff summary
    show(refs.slotSummary, handoff ? [summaryBox(handoff)] : []);

    renderTranscript(view.messages || [], conversation.id);

    // Reply
    show(refs.slotReply, mine ? [refs.replyForm] : []);
    refs.replyHint.textContent = conversation.opted_out ? t('reply.disabled_opted_out') : t('reply.hint', { channel: tv('channel', conversation.channel) });
    refs.replyHint.classList.toggle('danger-text', Boolean(conversation.opted_out));

    // Notes
    const notes = Array.isArray(view.notes) ? view.notes : [];
    refs.notesList.replaceChildren(...(notes.length ? notes.map((note) => el('li', { class: 'note', testid: 'note' },
      el('div', { class: 'note-meta' }, el('strong', { text: note.agent ? note.agent.name : '' }), ' · ',
        el('time', { datetime: note.created_at, text: formatDateTime(note.created_at) })),
      el('p', { class: 'note-text', text: note.text }))) : [el('li', { class: 'muted small empty', text: t('notes.empty') })]));
    const notesKey = `${conversation.id}|${notes.length}`;
    if (notes.length && notesKey !== state.notesKey) refs.notesList.scrollTop = refs.notesList.scrollHeight;
    state.notesKey = notesKey;

    renderAccount(view);
    syncControls();
  }

  function summaryBox(handoff) {
    const summary = handoff.summary || {};
    const items = [];
    const item = (labelKey, wide, ...content) => {
      items.push(el('div', { class: wide ? 'kv-item wide' : 'kv-item' }, el('dt', { text: t(labelKey) }), el('dd', null, ...content)));
    };
    item('summary.status', false, tv('handoff_status', handoff.status), ' · ', waitNode(handoff.waiting_seconds, state.viewAt, ''));
    item('summary.verified', false, summary.verified ? t('common.yes') : t('common.no'));
    if (summary.reference) item('summary.reference', false, summary.reference, summary.debtor_name ? ` · ${summary.debtor_name}` : '');
    if (summary.balance_text) item('summary.balance', false, el('strong', { text: summary.balance_text }));
    const signals = Array.isArray(summary.signals) ? summary.signals : [];
    item('summary.signals', false, signals.length
      ? el('span', { class: 'badges' }, signals.map((kind) => el('span', { class: `badge signal-badge signal-${safeClass(kind)}`, text: tv('signal', kind) })))
      : t('summary.none'));
    if (Array.isArray(summary.also) && summary.also.length) {
      item('summary.also', false, summary.also.map((r) => tv('reason', r)).join(', '));
    }
    if (summary.last_offer) {
      const offer = summary.last_offer;
      item('summary.last_offer', true,
        el('div', null, tv('kind', offer.kind), ' · ', tv('offer_status', offer.status), offer.total_text ? ' · ' : '', offer.total_text ? el('strong', { text: offer.total_text }) : null),
        offer.schedule_text ? scheduleNode(offer.schedule_text) : null);
    }
    if (summary.budget) {
      const budget = summary.budget;
      item('summary.budget', true, el('span', { testid: 'summary-budget', text: t('summary.budget_text', {
        income: budget.income_text, costs: budget.costs_text, left: budget.disposable_text,
        affordable: budget.affordable_text, minimum: budget.min_instalment_text,
      }) }));
    }
    if (summary.debtor_asked) item('summary.debtor_asked', true, el('blockquote', { class: 'quote', text: summary.debtor_asked }));
    if (summary.note) item('summary.note', true, el('span', { class: 'pre', text: summary.note }));
    if (summary.agent_note) item('summary.agent_note', true, el('span', { class: 'pre', text: summary.agent_note }));

    const priority = Number(handoff.priority);
    const details = el('details', { class: `summary card priority-${safeClass(priority)}`, testid: 'handoff-summary', open: !state.summaryCollapsed },
      el('summary', null,
        el('span', { class: 'summary-title', text: t('summary.title') }),
        el('span', { class: `badge priority-badge priority-${safeClass(priority)}`, text: tv('priority', priority) }),
        el('span', { class: 'summary-reason', text: tv('reason', handoff.reason || summary.reason) })),
      el('dl', { class: 'kv-grid' }, items));
    details.addEventListener('toggle', () => { state.summaryCollapsed = !details.open; });
    return details;
  }

  /** A schedule ("• date : amount" lines); a long one is folded after its first lines. */
  function scheduleNode(text) {
    const lines = String(text).split('\n');
    if (lines.length <= 6) return el('div', { class: 'schedule', text });
    return el('details', { class: 'schedule-fold' },
      el('summary', null, el('span', { class: 'schedule', text: lines.slice(0, 3).join('\n') }), el('span', { class: 'more', text: t('schedule.more', { n: lines.length - 3 }) })),
      el('div', { class: 'schedule', text: lines.slice(3).join('\n') }));
  }

  function renderTranscript(messages, conversationId) {
    const key = `${state.lang}|${conversationId}|${JSON.stringify(messages)}`;
    if (key === state.transcriptKey) return;
    const firstRender = !state.transcriptKey.startsWith(`${state.lang}|${conversationId}|`) || !refs.transcript.children.length;
    state.transcriptKey = key;
    const scroller = refs.transcriptWrap;
    const nearBottom = firstRender || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    refs.transcript.replaceChildren(...(messages.length ? messages.map(messageItem) : [el('li', { class: 'placeholder small', text: t('transcript.empty') })]));
    if (nearBottom) scroller.scrollTop = scroller.scrollHeight;
  }

  function messageItem(message) {
    const signals = Array.isArray(message.signals) ? message.signals : [];
    const outbound = message.direction === 'outbound';
    const classes = ['message', outbound ? 'outbound' : 'inbound', `author-${safeClass(message.author)}`];
    if (!message.this_conversation) classes.push('other-conversation');
    if (signals.length) classes.push('has-signals');
    if (signals.some((s) => s.kind === 'vulnerability')) classes.push('signal-vulnerable');
    const noteworthy = ['pending', 'sending', 'failed', 'blocked', 'undelivered', 'rejected'];
    return el('li', {
      class: classes.join(' '),
      testid: 'message',
      'data-author': message.author,
      'data-direction': message.direction,
      'data-channel': message.channel,
      'data-this-conversation': message.this_conversation ? 'true' : 'false',
    },
    el('div', { class: 'message-meta' },
      el('span', { class: 'author', text: tv('author', message.author) }),
      el('span', { class: 'channel', text: tv('channel', message.channel) }),
      el('time', { datetime: message.created_at, text: formatDateTime(message.created_at) }),
      noteworthy.includes(message.status) ? el('span', { class: `status status-${safeClass(message.status)}`, text: tv('message_status', message.status) }) : null,
      message.this_conversation ? null : el('span', { class: 'other-label', text: t('transcript.other_conversation', { channel: tv('channel', message.channel) }) })),
    el('p', { class: 'message-text', text: message.text || '' }),
    signals.length ? el('div', { class: 'badges' }, signals.map((signal) => el('span', {
      class: `badge signal-badge signal-${safeClass(signal.kind)}`,
      testid: 'signal',
      'data-kind': signal.kind,
      title: signal.detail || null,
      text: signalText(signal),
    }))) : null);
  }

  // -----------------------------------------------------------------------------------------------------
  // The account panel
  // -----------------------------------------------------------------------------------------------------

  function kv(pairs) {
    return el('dl', { class: 'kv' }, pairs.filter(Boolean).map(([label, value]) => [el('dt', { text: label }), el('dd', null, value)]));
  }

  function renderAccount(view) {
    const account = view ? view.account : null;
    const mine = Boolean(view && view.claimed_by_me);
    if (!view) {
      refs.accountPlaceholder.hidden = false;
      refs.accountPlaceholder.textContent = state.openId ? t('common.loading') : t('account.none_open');
      show(refs.slotAccount, []);
      show(refs.slotVerify, []);
      show(refs.slotVulnerabilityAlone, []);
      return;
    }
    if (!account) {
      refs.accountPlaceholder.hidden = false;
      refs.accountPlaceholder.textContent = `${t('account.not_verified')}${mine ? '' : ` ${t('account.claim_to_verify')}`}`;
      show(refs.slotAccount, []);
      show(refs.slotVerify, mine ? [refs.verifyForm] : []);
      show(refs.slotVulnerabilityAlone, mine ? [refs.vulnerabilityBlock] : []);
      refs.vulnerabilityFlagPart.hidden = false;
      show(refs.slotVulnerabilityReview, []);
      return;
    }
    refs.accountPlaceholder.hidden = true;
    show(refs.slotVerify, []);
    show(refs.slotVulnerabilityAlone, []);
    show(refs.slotAccount, [refs.account]);
    refs.account.dataset.reference = account.reference;
    refs.commitmentCurrency.textContent = account.currency ? `(${account.currency})` : '';

    // Identity and amounts
    const badges = [
      el('span', { class: `badge status-badge account-status-${safeClass(account.status)}`, text: tv('account_status', account.status) }),
      account.status === 'disputed' ? el('span', { class: 'badge danger-badge', testid: 'disputed', text: t('account.disputed') }) : null,
      account.vulnerable ? el('span', { class: 'badge danger-badge', testid: 'vulnerable', text: t('account.vulnerable') }) : null,
      account.reminders_paused ? el('span', { class: 'badge warn-badge', testid: 'reminders-paused', text: t('account.reminders_paused') }) : null,
    ];
    refs.accountCard.replaceChildren(el('section', { class: `card account-card${account.vulnerable ? ' vulnerable' : ''}` },
      el('h3', { class: 'account-name', text: account.debtor_name }),
      el('div', { class: 'badges' }, badges),
      el('div', { class: 'amounts', testid: 'account-balance' },
        el('div', { class: 'amount' }, el('span', { class: 'amount-label', text: t('account.balance') }), el('span', { class: 'amount-value', text: account.balance_text })),
        el('div', { class: 'amount' }, el('span', { class: 'amount-label', text: t('account.fees') }), el('span', { class: 'amount-value', text: account.fees_text })),
        el('div', { class: 'amount total' }, el('span', { class: 'amount-label', text: t('account.total') }), el('span', { class: 'amount-value', text: account.total_text }))),
      kv([
        [t('account.reference'), el('span', { class: 'reference', text: account.reference })],
        [t('account.creditor'), account.creditor_name],
        account.origin ? [t('account.origin'), account.origin] : null,
        [t('account.due_date'), formatDate(account.due_date)],
        [t('account.language'), tv('language', account.language)],
      ]),
      careNode(account)));

    // The creditor's bounds
    const policy = account.policy || {};
    refs.policyBox.replaceChildren(el('section', { class: 'card policy' },
      el('h3', { text: t('policy.title') }),
      kv([
        [t('policy.instalments'), t('policy.instalments_range', { min: policy.min_instalments, max: policy.max_instalments })],
        [t('policy.min_instalment'), policy.min_instalment_text],
        [t('policy.latest_first_date'), policy.latest_first_date_text],
        [t('policy.latest_date'), policy.latest_date_text],
        [t('policy.fees'), policy.fees_waivable ? t('policy.fees_waivable', { fees: policy.fees_text }) : t('policy.fees_not_waivable')],
        [t('policy.max_discount'), policy.max_settlement_discount_pct ? t('policy.max_discount_value', { pct: policy.max_settlement_discount_pct }) : t('policy.no_discount')],
      ])));

    show(refs.slotCommitmentForm, mine ? [refs.commitmentForm] : []);
    const paused = account.status === 'disputed' || (account.disputes || []).some((d) => d.status === 'open');
    refs.slotCommitmentWarning.replaceChildren(...(paused ? [el('p', { class: 'warning', role: 'note', text: t('commitment.paused') })] : []));
    show(refs.slotAccountActions, mine ? [refs.accountActions] : []);
    show(refs.slotVulnerabilityInAccount, mine ? [refs.vulnerabilityBlock] : []);
    // A flagged account is reviewed (kept with a support plan, or cleared) rather than flagged again.
    refs.vulnerabilityFlagPart.hidden = Boolean(account.vulnerable);
    show(refs.slotVulnerabilityReview, mine && account.vulnerable ? [refs.vulnerabilityReviewForm] : []);
    renderCommitmentFeedback();

    // Commitments
    const commitments = Array.isArray(account.commitments) ? account.commitments : [];
    refs.commitmentsBox.replaceChildren(listSection('commitments.title', commitments, 'commitments.empty', (c) => el('li', {
      class: `record commitment commitment-${safeClass(c.status)}`, testid: 'commitment', 'data-reference': c.reference, 'data-status': c.status,
    },
    el('div', { class: 'record-head' },
      el('strong', { class: 'reference', text: c.reference }),
      el('span', { class: `badge commitment-status-${safeClass(c.status)}`, text: tv('commitment_status', c.status) })),
    el('div', null, tv('kind', c.kind), c.total_text ? ' · ' : '', c.total_text ? el('strong', { text: c.total_text }) : null),
    c.schedule_text ? scheduleNode(c.schedule_text) : null,
    instalmentCounts(c.instalments),
    c.next_due_text && c.status === 'active' ? el('div', { class: 'small', text: t('commitments.next_due', { text: c.next_due_text }) }) : null,
    el('div', { class: 'small muted' }, t('commitments.recorded_by', { who: whoRecorded(c.recorded_by) }),
      c.agreed_at ? ` · ${t('commitments.agreed', { date: formatDateTime(c.agreed_at) })}` : ''),
    c.outside_policy_reason ? el('div', { class: 'outside-policy small', text: t('commitments.outside_policy', { reason: c.outside_policy_reason }) }) : null)));

    // Written confirmations
    const confirmations = Array.isArray(account.confirmations) ? account.confirmations : [];
    refs.confirmationsBox.replaceChildren(listSection('confirmations.title', confirmations, 'confirmations.empty', (c) => {
      const sent = Boolean(c.sent_at);
      const button = el('button', {
        type: 'button', class: sent ? 'secondary small-button' : 'primary small-button', testid: 'confirmation-send',
        disabled: !mine, title: mine ? null : t('confirmations.claim_first'),
      }, t(sent ? 'confirmations.send_again' : 'confirmations.send'));
      button.addEventListener('click', () => sendConfirmation(c.number, button));
      return el('li', { class: 'record confirmation', testid: 'confirmation', 'data-number': c.number, 'data-sent': sent ? 'true' : 'false' },
        el('div', { class: 'record-head' },
          el('strong', { class: 'reference', text: c.number }),
          el('span', { class: sent ? 'badge ok-badge' : 'badge warn-badge', text: sent ? t('confirmations.sent', { date: formatDateTime(c.sent_at) }) : t('confirmations.not_sent') })),
        c.commitment_reference ? el('div', { class: 'small', text: t('confirmations.for', { reference: c.commitment_reference }) }) : null,
        el('div', { class: 'small muted', text: t('confirmations.created', { date: formatDateTime(c.created_at) }) }),
        el('div', { class: 'record-actions' }, documentLink(c.document_url), button));
    }));

    // Disputes (with their review), payments, contacts: rebuilt only when what they show changed, so that a
    // refresh keeps what the agent is typing in a review and where the focus is.
    const language = view.conversation.language || account.language;
    keyed(refs.disputesBox, [state.lang, state.openId, mine, language, account.currency, account.balance_minor, account.balance_text, account.disputes],
      () => disputesSection(account, mine, language));
    keyed(refs.paymentsBox, [state.lang, language, account.currency, account.payments], () => paymentsSection(account, language));
    keyed(refs.contactsBox, [state.lang, account.timezone, state.showAllContacts, account.contacts], () => contactsSection(account));

    // Payment claims, consents, signals
    const claims = Array.isArray(account.payment_claims) ? account.payment_claims : [];
    const consents = Array.isArray(account.consents) ? account.consents : [];
    const signals = Array.isArray(account.signals) ? account.signals : [];
    const budgets = Array.isArray(account.budgets) ? account.budgets : [];
    refs.recordsBox.replaceChildren(
      listSection('budget.title', budgets, 'budget.empty', budgetItem, 'budgets'),
      listSection('records.payment_claims', claims, 'records.none', (p) => el('li', { class: 'record compact', testid: 'payment-claim' },
        p.paid_on ? t('records.paid_on', { date: formatDate(p.paid_on) }) : t('common.none'),
        p.means ? ` · ${tv('means', p.means)}` : '', ' · ',
        el('span', { class: 'badge', text: tv('claim_status', p.status) }))),
      listSection('records.consents', consents, 'records.none', (c) => el('li', { class: 'record compact', testid: 'consent', 'data-kind': c.kind, 'data-channel': c.channel },
        tv('consent_kind', c.kind), ' · ', tv('channel', c.channel),
        el('span', { class: 'small muted', text: ` ${formatDateTime(c.created_at)}` }))),
      listSection('records.signals', signals, 'records.none', (s) => el('li', { class: 'record compact', 'data-kind': s.kind },
        el('span', { class: `badge signal-badge signal-${safeClass(s.kind)}`, text: signalText(s) }),
        s.detail ? ` ${s.detail}` : '',
        el('span', { class: 'small muted', text: ` ${formatDateTime(s.created_at)}` }))),
    );
  }

  /** One budget the debtor gave (income and expenditure, per month), the latest first: the latest applies. */
  function budgetItem(b) {
    const household = b.adults === null && b.children === null ? null
      : [t('budget.household'), t('budget.household_value', { adults: b.adults ?? '?', children: b.children ?? '?' })];
    return el('li', { class: 'record budget', testid: 'budget', 'data-source': b.source },
      el('div', { class: 'small muted', text: t('budget.given', { date: formatDateTime(b.created_at), source: tv('budget_source', b.source) }) }),
      el('div', { class: 'small muted', text: t('budget.per_month') }),
      kv([
        [t('budget.income'), b.income_text],
        [t('budget.housing'), b.housing_text],
        [t('budget.bills'), b.bills_text],
        [t('budget.food'), b.food_text],
        [t('budget.transport'), b.transport_text],
        [t('budget.other_costs'), b.other_costs_text],
        [t('budget.other_debts'), b.other_debts_text],
        [t('budget.costs'), el('strong', { text: b.costs_text })],
        [t('budget.disposable'), el('strong', { testid: 'budget-disposable', text: b.disposable_text })],
        [t('budget.affordable', { share: b.share_pct }), el('strong', { testid: 'budget-affordable', text: b.affordable_text })],
        household,
      ]));
  }

  function listSection(titleKey, rows, emptyKey, render, testid) {
    return el('section', { class: 'records', testid },
      el('h3', null, t(titleKey), rows.length ? el('span', { class: 'count-badge', text: String(rows.length) }) : null),
      rows.length ? el('ul', { class: 'record-list' }, rows.map(render)) : el('p', { class: 'muted small', text: t(emptyKey) }));
  }

  const renderedKeys = new WeakMap();

  /** Fills `box` with what `build` makes, unless `parts` are the same as the last time it was filled. */
  function keyed(box, parts, build) {
    const key = JSON.stringify(parts);
    if (renderedKeys.get(box) === key) return;
    renderedKeys.set(box, key);
    box.replaceChildren(build());
  }

  function careNode(account) {
    const reviewed = account.care_reviewed_at ? formatDateTime(account.care_reviewed_at) : null;
    if (account.care_plan) {
      return el('div', { class: 'care-plan', testid: 'care-plan' },
        el('div', { class: 'care-plan-title', text: t('care.plan') }),
        el('p', { class: 'pre', text: account.care_plan }),
        reviewed ? el('p', { class: 'small muted', text: t('care.reviewed', { date: reviewed }) }) : null);
    }
    if (reviewed && !account.vulnerable) {
      return el('p', { class: 'small muted care-cleared', testid: 'care-cleared', text: t('care.cleared', { date: reviewed }) });
    }
    return null;
  }

  function instalmentCounts(instalments) {
    const counts = {};
    for (const instalment of Array.isArray(instalments) ? instalments : []) counts[instalment.status] = (counts[instalment.status] || 0) + 1;
    if (!counts.paid && !counts.missed) return null;
    return el('div', { class: 'badges instalment-counts' }, ['paid', 'missed', 'due'].filter((status) => counts[status]).map((status) => el('span', {
      class: `badge instalment-${status}`, 'data-status': status, text: t(`instalments.count_${status}`, { n: counts[status] }),
    })));
  }

  // Disputes: what was decided and whether the written answer left; an open one can be reviewed by the
  // agent who has the conversation.

  function disputesSection(account, mine, language) {
    const disputes = Array.isArray(account.disputes) ? account.disputes : [];
    return listSection('records.disputes', disputes, 'records.none', (d) => {
      const resolved = d.status !== 'open';
      return el('li', {
        class: `record dispute dispute-${safeClass(d.status)}`, testid: 'dispute', 'data-dispute-id': String(d.id), 'data-status': d.status,
        'data-answered': resolved ? String(Boolean(d.answered_at)) : null,
      },
      el('div', { class: 'record-head' },
        el('strong', { text: d.reason ? tv('dispute_reason', d.reason) : t('dispute_reason.none') }),
        el('span', { class: `badge dispute-status-${safeClass(d.status)}`, text: tv('dispute_status', d.status) })),
      el('div', { class: 'small muted', text: t('disputes.opened', { date: formatDateTime(d.created_at) }) }),
      resolved ? resolutionNode(d, account, language) : null,
      !resolved && mine ? reviewForm(d, account) : null,
      !resolved && !mine ? el('p', { class: 'hint', text: t('disputes.claim_to_review') }) : null);
    }, 'disputes');
  }

  function resolutionNode(dispute, account, language) {
    const answered = Boolean(dispute.answered_at);
    const corrected = dispute.corrected_balance_minor !== null && dispute.corrected_balance_minor !== undefined;
    return el('div', { class: 'dispute-resolution', testid: 'dispute-resolution' },
      el('p', { class: 'small', text: t('disputes.resolved', { who: whoRecorded(dispute.resolved_by), date: formatDateTime(dispute.resolved_at) }) }),
      dispute.explanation ? el('blockquote', { class: 'quote', testid: 'dispute-explanation-text', text: dispute.explanation }) : null,
      dispute.closed_account ? el('p', { class: 'small strong', text: t('disputes.closed_account') }) : null,
      corrected ? el('p', { class: 'small strong', text: t('disputes.corrected', { amount: formatMoney(dispute.corrected_balance_minor, account.currency, language) }) }) : null,
      answered
        ? el('p', { class: 'answer-sent small', testid: 'dispute-answer', 'data-sent': 'true', text: t('disputes.answer_sent', { date: formatDateTime(dispute.answered_at) }) })
        : el('p', { class: 'warning small', role: 'note', testid: 'dispute-answer', 'data-sent': 'false', text: t('disputes.answer_not_sent') }));
  }

  function reviewForm(dispute, account) {
    const draftKey = `${state.openId}:${dispute.id}`;
    const draft = state.reviewDrafts.get(draftKey) || { outcome: '', explanation: '', balance: '', close: false };
    const id = (name) => `dispute-${safeClass(dispute.id)}-${name}`;
    const errorSlotName = `dispute-review-${dispute.id}`;
    const radio = (value) => el('label', { class: 'choice-option' },
      el('input', { type: 'radio', name: id('outcome'), value, testid: `dispute-outcome-${value}`, checked: draft.outcome === value }),
      ' ', el('span', { text: t(`disputes.outcome_${value}`) }));
    const explanation = el('textarea', { id: id('explanation'), testid: 'dispute-explanation', rows: '4', maxlength: '4000', 'aria-describedby': id('explanation-hint') });
    explanation.value = draft.explanation;
    const balance = el('input', { id: id('balance'), testid: 'dispute-corrected-balance', type: 'text', inputmode: 'decimal', autocomplete: 'off', maxlength: '20', 'aria-describedby': id('balance-hint') });
    balance.value = draft.balance;
    const close = el('input', { id: id('close'), testid: 'dispute-close-account', type: 'checkbox', checked: draft.close });
    const upheldOnly = el('div', { class: 'upheld-only' },
      el('div', { class: 'field' },
        el('label', { for: id('balance') }, t('disputes.corrected_balance'), ' ', el('span', { class: 'currency', text: `(${account.currency})` })),
        balance,
        el('p', { class: 'hint', id: id('balance-hint'), text: t('disputes.corrected_balance_hint', { balance: account.balance_text }) })),
      el('div', { class: 'field' }, el('label', { class: 'choice-option' }, close, ' ', el('span', { text: t('disputes.close_account_choice') }))));
    const submit = el('button', { type: 'submit', class: 'primary', testid: 'dispute-resolve', text: t('disputes.resolve') });
    const form = el('form', { class: 'dispute-review', testid: 'dispute-review', 'data-dispute-id': String(dispute.id), novalidate: true, 'aria-labelledby': id('title') },
      el('h4', { id: id('title'), text: t('disputes.review_title') }),
      el('p', { class: 'hint', text: t('disputes.review_hint') }),
      el('fieldset', { class: 'choice' }, el('legend', { text: t('disputes.outcome') }), radio('upheld'), radio('rejected')),
      el('div', { class: 'field' },
        el('label', { for: id('explanation'), text: t('disputes.explanation') }),
        explanation,
        el('p', { class: 'hint', id: id('explanation-hint'), text: t('disputes.explanation_hint') })),
      upheldOnly,
      submit,
      el('div', { class: 'error-slot', 'data-error-slot': errorSlotName }));
    const sync = () => {
      // A check of the form's own (not the server's) is done again on submit: drop it once the agent edits.
      if (state.lastError && state.lastError.slot === errorSlotName && typeof state.lastError.error === 'string') clearActionErrors();
      const chosen = form.querySelector('input[type="radio"]:checked');
      const outcome = chosen ? chosen.value : '';
      upheldOnly.hidden = outcome !== 'upheld';
      balance.disabled = close.checked; // close the account or correct its balance, not both
      state.reviewDrafts.set(draftKey, { outcome, explanation: explanation.value, balance: balance.value, close: close.checked });
    };
    form.addEventListener('input', sync);
    form.addEventListener('change', sync);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      resolveDispute(dispute, account, submit, explanation, balance);
    });
    sync();
    return form;
  }

  // Payments: what arrived, and what each one settled.

  function paymentsSection(account, language) {
    const at = (iso) => (parseInstant(iso) || new Date(0)).getTime();
    const payments = (Array.isArray(account.payments) ? account.payments : []).slice().sort((a, b) => at(b.paid_at) - at(a.paid_at));
    return listSection('payments.title', payments, 'payments.empty', (p) => {
      const money = (minor) => formatMoney(minor, p.currency || account.currency, language);
      const allocations = Array.isArray(p.allocations) ? p.allocations : [];
      return el('li', { class: `record payment${p.amount_minor < 0 ? ' refund' : ''}`, testid: 'payment', 'data-external-id': p.external_id, 'data-amount-minor': String(p.amount_minor) },
        el('div', { class: 'record-head' },
          el('strong', { class: 'payment-amount', text: money(p.amount_minor) }),
          el('span', { class: 'badge', text: tv('means', p.method) })),
        el('div', { class: 'small', text: t(p.amount_minor < 0 ? 'payments.refunded' : 'payments.paid', { date: formatDateTime(p.paid_at) }) }),
        p.reverses ? el('div', { class: 'small', text: t('payments.reverses', { id: p.reverses }) }) : null,
        allocations.length ? el('ul', { class: 'allocations small', 'aria-label': t('payments.settled') }, allocations.map((a) => el('li', { testid: 'allocation', 'data-kind': a.kind },
          allocationText(a), ' · ', el('strong', { text: money(a.amount_minor) })))) : null,
        p.fees_applied_minor ? el('div', { class: 'small muted', text: t('payments.applied', { balance: money(p.balance_applied_minor), fees: money(p.fees_applied_minor) }) }) : null,
        el('div', { class: 'small muted', text: t('payments.external_id', { id: p.external_id }) }));
    }, 'payments');
  }

  function allocationText(allocation) {
    if (allocation.kind === 'instalment') {
      return t('payments.to_instalment', {
        n: allocation.instalment_sequence ?? '?', reference: allocation.commitment_reference || '', date: formatDate(allocation.instalment_due_date),
      });
    }
    return tv('allocation', allocation.kind);
  }

  // Contacts: what the follow-through will do next, and what it did (with the gate's reasons).

  const UPCOMING_CONTACTS = ['scheduled', 'deferred'];
  const CONTACTS_SHOWN = { upcoming: 3, past: 10 };

  function lastDecision(contact) {
    const decisions = Array.isArray(contact.decisions) ? contact.decisions : [];
    return decisions.length ? decisions[decisions.length - 1] : null;
  }

  function contactsSection(account) {
    const contacts = Array.isArray(account.contacts) ? account.contacts : [];
    const at = (iso) => (parseInstant(iso) || new Date(0)).getTime();
    const happened = (c) => at(c.sent_at || (lastDecision(c) || {}).decided_at || c.scheduled_for);
    const upcoming = contacts.filter((c) => UPCOMING_CONTACTS.includes(c.status)).sort((a, b) => at(a.scheduled_for) - at(b.scheduled_for));
    const past = contacts.filter((c) => !UPCOMING_CONTACTS.includes(c.status)).sort((a, b) => happened(b) - happened(a));
    const part = (which, rows, emptyKey) => {
      const all = state.showAllContacts[which];
      const shown = all ? rows : rows.slice(0, CONTACTS_SHOWN[which]);
      const more = rows.length > CONTACTS_SHOWN[which]
        ? el('button', { type: 'button', class: 'link-button small', testid: `contacts-more-${which}`, 'aria-expanded': String(all),
          text: all ? t('contacts.show_fewer') : t('contacts.show_all', { n: rows.length }),
          onclick: () => {
            state.showAllContacts[which] = !all;
            renderAccount(state.view);
            const again = refs.contactsBox.querySelector(`[data-testid="contacts-more-${which}"]`);
            if (again) again.focus(); // the list was rebuilt: keep the keyboard where it was
          } })
        : null;
      return el('div', { class: `contacts-part contacts-${which}`, testid: `contacts-${which}` },
        el('h4', null, t(`contacts.${which}`), rows.length ? el('span', { class: 'count-badge', text: String(rows.length) }) : null),
        shown.length ? el('ul', { class: 'record-list' }, shown.map((c) => contactItem(c, account.timezone))) : el('p', { class: 'muted small', text: t(emptyKey) }),
        more);
    };
    return el('section', { class: 'records contacts', testid: 'contacts' },
      el('h3', null, t('contacts.title')),
      el('p', { class: 'hint', text: t('contacts.debtor_time', { zone: account.timezone }) }),
      part('upcoming', upcoming, 'contacts.none_upcoming'),
      part('past', past, 'contacts.none_past'));
  }

  function contactItem(contact, zone) {
    const last = lastDecision(contact);
    const channel = contact.channel || (last && last.channel) || null;
    const when = (iso) => formatDebtorTime(iso, zone);
    const channelText = channel ? ` · ${tv('channel', channel)}` : '';
    const reason = contact.reason ? tv('contact_reason', contact.reason) : '';
    let detail;
    if (contact.status === 'deferred') {
      detail = [
        el('div', { class: 'small', text: t('contacts.planned_for', { time: when(contact.planned_for) }) + channelText }),
        el('div', { class: 'small contact-reason', testid: 'contact-reason', text: t('contacts.held_back', { reason, time: when(contact.scheduled_for) }) }),
      ];
    } else if (contact.status === 'sent') {
      detail = [el('div', { class: 'small', text: t('contacts.sent_at', { time: when(contact.sent_at || contact.scheduled_for) }) + channelText })];
    } else if (contact.status === 'cancelled') {
      detail = [
        el('div', { class: 'small contact-reason', testid: 'contact-reason', text: t('contacts.cancelled_because', { reason: reason || t('common.none') }) }),
        el('div', { class: 'small muted', text: t('contacts.was_planned', { time: when(contact.scheduled_for) }) }),
      ];
    } else {
      detail = [el('div', { class: 'small', text: when(contact.scheduled_for) + channelText })];
    }
    return el('li', {
      class: `record compact contact contact-${safeClass(contact.status)}`, testid: 'contact',
      'data-kind': contact.kind, 'data-status': contact.status, 'data-reason': contact.reason || '',
    },
    el('div', { class: 'record-head' },
      el('strong', { text: tv('contact_kind', contact.kind) }),
      el('span', { class: `badge contact-status-${safeClass(contact.status)}`, text: tv('contact_status', contact.status) })),
    detail);
  }

  function documentLink(url) {
    let safe = null;
    try {
      const parsed = new URL(String(url || ''), window.location.href);
      if (parsed.protocol === 'https:' || parsed.protocol === 'http:') safe = parsed.href;
    } catch (_) { safe = null; }
    if (!safe) return null;
    return el('a', { href: safe, target: '_blank', rel: 'noopener noreferrer', class: 'document-link', text: t('confirmations.document') });
  }

  // -----------------------------------------------------------------------------------------------------
  // Actions
  // -----------------------------------------------------------------------------------------------------

  const path = (suffix) => `/conversations/${encodeURIComponent(state.openId)}${suffix}`;

  function syncControls() {
    const view = state.view;
    const optedOut = Boolean(view && view.conversation && view.conversation.opted_out);
    refs.replyText.disabled = optedOut;
    refs.replySend.disabled = optedOut || state.busy.has(refs.replySend);
    for (const button of [refs.claim, refs.release, refs.handBack, refs.close, refs.noteAdd, refs.commitmentRecord,
      refs.disputeRecord, refs.flagVulnerable, refs.vulnerabilityReviewSubmit, refs.verifySubmit]) {
      button.disabled = state.busy.has(button);
    }
  }

  async function sendReply(event) {
    event.preventDefault();
    if (!state.openId || refs.replySend.disabled) return;
    const text = refs.replyText.value;
    if (!text.trim()) { showActionError('reply', 'error.text_empty'); refs.replyText.focus(); return; }
    const sentFor = state.openId;
    const ok = await act(refs.replySend, 'reply', () => api('POST', path('/messages'), { text }));
    if (ok && sentFor === state.openId) {
      refs.replyText.value = '';
      state.drafts.delete(sentFor);
      refs.replyText.focus();
    }
  }

  async function addNote(event) {
    event.preventDefault();
    if (!state.openId) return;
    const text = refs.noteText.value;
    if (!text.trim()) { showActionError('notes', 'error.text_empty'); refs.noteText.focus(); return; }
    const addedFor = state.openId;
    const ok = await act(refs.noteAdd, 'notes', () => api('POST', path('/notes'), { text }));
    if (ok && addedFor === state.openId) refs.noteText.value = '';
  }

  function finishBody() {
    const note = refs.finishNote.value.trim();
    return note ? { note } : {};
  }

  async function finish(button, suffix) {
    const ok = await act(button, 'header', () => api('POST', path(suffix), finishBody()));
    if (ok) refs.finishNote.value = '';
  }

  function updateKindFields() {
    const kind = refs.commitmentKind.value;
    for (const node of refs.commitmentForm.querySelectorAll('[data-kinds]')) {
      node.hidden = !node.dataset.kinds.split(' ').includes(kind);
    }
    const labelKey = kind === 'instalments' ? 'commitment.first_date' : 'commitment.pay_date';
    refs.firstDateLabel.dataset.i18n = labelKey;
    refs.firstDateLabel.textContent = t(labelKey);
  }

  async function recordCommitment(event) {
    event.preventDefault();
    if (!state.openId) return;
    const kind = refs.commitmentKind.value;
    const body = { kind, frequency: 'monthly' };
    if (kind === 'instalments') {
      const amount = refs.commitmentAmount.value.trim();
      if (amount) body.instalment_amount = amount; // as typed: the server reads it exactly, never as a float
      const count = refs.commitmentCount.value.trim();
      if (count) {
        if (!/^\d{1,3}$/.test(count) || Number(count) < 1 || Number(count) > 120) {
          showActionError('commitment', 'error.count_invalid');
          refs.commitmentCount.focus();
          return;
        }
        body.instalment_count = Number(count);
      }
      body.frequency = refs.commitmentFrequency.value;
    }
    if (refs.commitmentFirstDate.value) body.first_due_date = refs.commitmentFirstDate.value; // YYYY-MM-DD
    const reason = refs.commitmentReason.value.trim();
    if (reason) {
      if (reason.length < 5) {
        showActionError('commitment', 'error.reason_too_short');
        refs.commitmentReason.focus();
        return;
      }
      body.outside_policy_reason = reason;
    }
    const conversationId = state.openId;
    state.commitmentResult = null;
    state.counterOffer = null;
    renderCommitmentFeedback();
    const result = await act(refs.commitmentRecord, 'commitment', () => api('POST', path('/commitments'), body), {
      onError: (error) => {
        if (error.code === 'outside_policy' && error.body && error.body.counter_offer) {
          state.counterOffer = { conversationId, offer: error.body.counter_offer };
          renderCommitmentFeedback();
        }
        return false; // the error itself is shown as usual
      },
    });
    if (result && conversationId === state.openId) {
      state.commitmentResult = { conversationId, result };
      state.counterOffer = null;
      for (const input of [refs.commitmentAmount, refs.commitmentCount, refs.commitmentFirstDate, refs.commitmentReason]) input.value = '';
      renderCommitmentFeedback();
    }
  }

  async function sendConfirmation(number, button) {
    if (!state.openId) return;
    await act(button, 'confirmations', () => api('POST', path(`/confirmations/${encodeURIComponent(number)}/send`), {}));
  }

  async function recordDispute(event) {
    event.preventDefault();
    if (!state.openId) return;
    const reason = refs.disputeReason.value;
    const ok = await act(refs.disputeRecord, 'dispute', () => api('POST', path('/disputes'), reason ? { reason } : {}));
    if (ok) refs.disputeReason.value = '';
  }

  async function flagVulnerability() {
    if (!state.openId) return;
    await act(refs.flagVulnerable, 'vulnerability', () => api('POST', path('/vulnerability'), {}));
  }

  async function resolveDispute(dispute, account, button, explanationInput, balanceInput) {
    if (!state.openId) return;
    const draftKey = `${state.openId}:${dispute.id}`;
    const draft = state.reviewDrafts.get(draftKey) || {};
    const slot = `dispute-review-${dispute.id}`;
    if (draft.outcome !== 'upheld' && draft.outcome !== 'rejected') {
      showActionError(slot, 'disputes.error_outcome');
      return;
    }
    const explanation = String(draft.explanation || '').trim();
    if (explanation.length < 10) {
      showActionError(slot, 'disputes.error_explanation');
      explanationInput.focus();
      return;
    }
    const body = { outcome: draft.outcome, explanation, corrected_balance_minor: null, close_account: false };
    if (draft.outcome === 'upheld') {
      if (draft.close) {
        body.close_account = true;
      } else if (String(draft.balance || '').trim()) {
        const minor = parseMinor(draft.balance, account.currency);
        if (minor === null || minor >= account.balance_minor) {
          showActionError(slot, minor === null ? 'disputes.error_balance_format' : 'disputes.error_balance_not_lower');
          balanceInput.focus();
          return;
        }
        body.corrected_balance_minor = minor;
      }
    }
    const result = await act(button, slot, () => api('POST', path(`/disputes/${encodeURIComponent(dispute.id)}/resolution`), body), {
      onError: (error) => {
        if (error.code === 'invalid_amount') { showActionError(slot, 'disputes.error_balance_not_lower'); return true; }
        if (error.code === 'conflict') { showActionError(slot, 'disputes.error_already_resolved'); return true; }
        return false;
      },
    });
    if (button.isConnected) button.disabled = false; // still there: the decision was refused, the agent may try again
    if (result) state.reviewDrafts.delete(draftKey);
  }

  function updateCareFields() {
    const chosen = refs.vulnerabilityReviewForm.querySelector('input[name="care-decision"]:checked');
    const key = chosen && chosen.value === 'clear' ? 'care.note_clear' : 'care.note_keep';
    refs.vulnerabilityNoteLabel.dataset.i18n = key;
    refs.vulnerabilityNoteLabel.textContent = t(key);
  }

  async function reviewVulnerability(event) {
    event.preventDefault();
    if (!state.openId) return;
    const chosen = refs.vulnerabilityReviewForm.querySelector('input[name="care-decision"]:checked');
    if (!chosen) {
      showActionError('vulnerability-review', 'care.error_decision');
      return;
    }
    const note = refs.vulnerabilityNote.value.trim();
    if (note.length < 5) {
      showActionError('vulnerability-review', 'care.error_note');
      refs.vulnerabilityNote.focus();
      return;
    }
    const reviewedFor = state.openId;
    const result = await act(refs.vulnerabilityReviewSubmit, 'vulnerability-review',
      () => api('POST', path('/vulnerability-review'), { decision: chosen.value, note }));
    if (result && reviewedFor === state.openId) {
      refs.vulnerabilityReviewForm.reset();
      updateCareFields();
    }
  }

  async function verifyIdentity(event) {
    event.preventDefault();
    if (!state.openId) return;
    const reference = refs.verifyReference.value.trim();
    const dateOfBirth = refs.verifyDob.value;
    if (!reference || !dateOfBirth) {
      showActionError('verify', 'verify.needs_two');
      return;
    }
    const body = { reference, date_of_birth: dateOfBirth };
    const result = await act(refs.verifySubmit, 'verify', () => api('POST', path('/verify'), body));
    if (result && result.verified === false && result.reference_locked) {
      showReferenceLocked(reference);
    } else if (result && result.verified === false) {
      showActionError('verify', 'verify.failed');
    } else if (result && result.verified) {
      refs.verifyForm.reset();
    }
  }

  /** Too many failed attempts on this reference, here or elsewhere: the agent may lift the lock once they
   * are satisfied, by other means, that they are talking with the debtor. */
  function showReferenceLocked(reference) {
    showActionError('verify', 'verify.reference_locked');
    const unlock = el('button', { type: 'button', class: 'secondary', testid: 'verify-unlock', text: t('verify.unlock') });
    unlock.addEventListener('click', async () => {
      const result = await act(unlock, 'verify', () => api('POST', path('/unlock-verification'), { reference }));
      if (result) showActionError('verify', result.unlocked ? 'verify.unlocked' : 'verify.not_locked');
    });
    const box = errorSlot('verify').querySelector('[data-testid="action-error"]');
    if (box) box.append(unlock);
  }

  async function signOut() {
    state.leaving = true;
    refs.signOut.disabled = true;
    try { await api('DELETE', '/session', {}); } catch (_) { /* the session is gone either way */ }
    if (state.ws) { try { state.ws.close(); } catch (_) { /* ignore */ } }
    window.location.assign('/console/login');
  }

  function submitOnCtrlEnter(textarea, form) {
    textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  // -----------------------------------------------------------------------------------------------------
  // Start
  // -----------------------------------------------------------------------------------------------------

  const refs = {};
  const detached = []; // pieces kept out of the page until needed (their typed values survive)

  function collectRefs() {
    const ids = {
      language: 'ui-language', agentName: 'agent-name', live: 'live', liveText: 'live-text', signOut: 'sign-out',
      queue: 'queue', queueEmpty: 'queue-empty', queueError: 'queue-error', queueCount: 'queue-count',
      conversationPlaceholder: 'conversation-placeholder', slotConversation: 'slot-conversation', conversation: 'conversation',
      conversationTitle: 'conversation-title', conversationActions: 'conversation-actions', conversationChips: 'conversation-chips',
      conversationWarnings: 'conversation-warnings', claimHint: 'claim-hint', claim: 'claim', release: 'release', handBack: 'hand-back', close: 'close',
      finishNoteField: 'finish-note-field', finishNote: 'finish-note',
      slotSummary: 'slot-summary', transcriptWrap: 'transcript-wrap', transcript: 'transcript',
      slotReply: 'slot-reply', replyForm: 'reply-form', replyText: 'reply-text', replySend: 'reply-send', replyHint: 'reply-hint',
      notesList: 'notes-list', noteForm: 'note-form', noteText: 'note-text', noteAdd: 'note-add',
      accountPlaceholder: 'account-placeholder', slotAccount: 'slot-account', account: 'account', accountCard: 'account-card',
      policyBox: 'policy-box', slotCommitmentForm: 'slot-commitment-form', commitmentForm: 'commitment-form',
      commitmentKind: 'commitment-kind', commitmentAmount: 'commitment-amount', commitmentCount: 'commitment-count',
      commitmentFirstDate: 'commitment-first-date', firstDateLabel: 'commitment-first-date-label',
      commitmentFrequency: 'commitment-frequency', commitmentReason: 'commitment-reason', commitmentRecord: 'commitment-record',
      commitmentCurrency: 'commitment-currency', slotCounterOffer: 'slot-counter-offer', slotCommitmentWarning: 'slot-commitment-warning', slotCommitmentResult: 'slot-commitment-result',
      commitmentsBox: 'commitments-box', confirmationsBox: 'confirmations-box', slotAccountActions: 'slot-account-actions',
      accountActions: 'account-actions', disputeForm: 'dispute-form', disputeReason: 'dispute-reason', disputeRecord: 'dispute-record',
      slotVulnerabilityInAccount: 'slot-vulnerability-in-account', recordsBox: 'records-box',
      disputesBox: 'disputes-box', paymentsBox: 'payments-box', contactsBox: 'contacts-box',
      slotVerify: 'slot-verify', verifyForm: 'verify-form', verifyReference: 'verify-reference', verifyDob: 'verify-dob',
      verifySubmit: 'verify-submit', slotVulnerabilityAlone: 'slot-vulnerability-alone',
      vulnerabilityBlock: 'vulnerability-block', flagVulnerable: 'flag-vulnerable',
      vulnerabilityFlagPart: 'vulnerability-flag-part', slotVulnerabilityReview: 'slot-vulnerability-review',
      vulnerabilityReviewForm: 'vulnerability-review-form', vulnerabilityNote: 'vulnerability-note',
      vulnerabilityNoteLabel: 'vulnerability-note-label', vulnerabilityReviewSubmit: 'vulnerability-review-submit',
    };
    for (const [name, id] of Object.entries(ids)) {
      refs[name] = $(id);
      if (!refs[name]) throw new Error(`console: #${id} is missing`);
    }
    // Conditional pieces leave the page until a conversation needs them.
    for (const piece of [refs.conversation, refs.claimHint, refs.claim, refs.release, refs.handBack, refs.close, refs.finishNoteField,
      refs.replyForm, refs.commitmentForm, refs.accountActions, refs.account, refs.verifyForm, refs.vulnerabilityBlock,
      refs.vulnerabilityReviewForm]) {
      detached.push(piece);
      piece.remove();
    }
  }

  function wire() {
    refs.language.addEventListener('change', (event) => setLanguage(event.target.value));
    refs.signOut.addEventListener('click', signOut);
    refs.claim.addEventListener('click', () => act(refs.claim, 'header', () => api('POST', path('/claim'), {})));
    refs.release.addEventListener('click', () => act(refs.release, 'header', () => api('POST', path('/release'), {})));
    refs.handBack.addEventListener('click', () => finish(refs.handBack, '/hand-back'));
    refs.close.addEventListener('click', () => finish(refs.close, '/close'));
    refs.replyForm.addEventListener('submit', sendReply);
    refs.noteForm.addEventListener('submit', addNote);
    refs.commitmentForm.addEventListener('submit', recordCommitment);
    refs.commitmentKind.addEventListener('change', updateKindFields);
    refs.disputeForm.addEventListener('submit', recordDispute);
    refs.flagVulnerable.addEventListener('click', flagVulnerability);
    refs.vulnerabilityReviewForm.addEventListener('submit', reviewVulnerability);
    refs.vulnerabilityReviewForm.addEventListener('change', updateCareFields);
    refs.verifyForm.addEventListener('submit', verifyIdentity);
    submitOnCtrlEnter(refs.replyText, refs.replyForm);
    submitOnCtrlEnter(refs.noteText, refs.noteForm);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') refreshAll();
    });
    window.addEventListener('pagehide', () => { state.leaving = true; });
    window.addEventListener('hashchange', () => {
      const id = conversationFromHash();
      if (id && id !== state.openId) openConversation(id);
    });
  }

  function conversationFromHash() {
    const match = /^#conversation=([^&]+)$/.exec(window.location.hash || '');
    if (!match) return null;
    try { return decodeURIComponent(match[1]); } catch (_) { return null; }
  }

  function refreshAll() {
    scheduleQueueRefresh();
    if (state.openId) scheduleConversationRefresh();
  }

  async function loadTranslations() {
    try {
      const response = await fetch('/console/static/i18n.json', { credentials: 'same-origin' });
      state.dict = response.ok ? await response.json() : {};
    } catch (_) {
      state.dict = {};
    }
  }

  async function signIn() {
    let me;
    try {
      me = await api('GET', '/me');
    } catch (error) {
      if (!error.redirecting) {
        state.queueError = error;
        renderQueue();
        setTimeout(signIn, 5000); // the server is unreachable: try again
      }
      return;
    }
    state.agent = me.agent;
    state.csrf = me.csrf_token;
    refs.agentName.textContent = me.agent ? me.agent.name : '';
    await loadQueue();
    const fromHash = conversationFromHash();
    if (fromHash) openConversation(fromHash);
    connectLive();
    setInterval(() => {
      updateWaitTimes();
      refreshAll();
    }, REFRESH_MS);
  }

  async function start() {
    collectRefs();
    state.lang = initialLanguage();
    wire();
    await loadTranslations();
    applyStaticTranslations();
    updateKindFields();
    updateCareFields();
    setLive(false);
    renderConversation();
    await signIn();
  }

  start();
})();
