// The console's dashboard: KPIs and A/B tests of the creditors the signed-in person serves (agents and managers).
// Plain DOM and Chart.js (served from our own origin), no inline script (strict CSP). Every word comes from
// i18n.json; numbers and dates are formatted for the chosen language. Each chart has a caption and its figures
// as a table (visually hidden until shown, always read by screen readers).
'use strict';

(() => {
  const LANGUAGES = ['fr', 'en'];
  const LANGUAGE_KEY = 'console.language';
  const API = '/console/api';
  const DAY_MS = 86400000;
  const PRESETS = ['7', '30', '90', '365'];
  const COLORS = ['#1f4f8a', '#c2680c', '#18794e', '#7c3aed', '#b42318', '#0e7490', '#64748b'];

  const state = {
    lang: 'en',
    dict: {},
    csrf: null,
    me: null,
    scope: null,
    kpis: null,
    experiments: null,
    error: null,
    seq: 0,
    charts: new Map(), // figure id -> Chart
    shownTables: new Set(), // figure ids whose table is shown
  };

  const $ = (id) => document.getElementById(id);

  /** A DOM element; children are nodes or plain strings (always text, never parsed as HTML). */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key === 'testid') node.setAttribute('data-testid', value);
      else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, '');
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false || child === '') continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Language, numbers and dates
  // ---------------------------------------------------------------------------------------------------------

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
    if (vars) text = text.replace(/\{(\w+)\}/g, (match, name) => (vars[name] === undefined || vars[name] === null ? match : String(vars[name])));
    return text;
  }

  /** The translation of an enumerated value, or the value made readable. */
  function tv(prefix, value) {
    if (value === null || value === undefined || value === '') return none();
    const text = lookup(`${prefix}.${value}`);
    return text !== undefined ? text : String(value).replace(/_/g, ' ');
  }

  const locale = () => (state.lang === 'fr' ? 'fr-FR' : 'en-GB');
  function none() { return t('common.none'); }

  function formatCount(value) {
    return value === null || value === undefined ? none() : new Intl.NumberFormat(locale()).format(value);
  }

  function formatNumber(value, digits = 1) {
    if (value === null || value === undefined) return none();
    return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
  }

  function formatRate(value) {
    if (value === null || value === undefined) return none();
    return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(value);
  }

  /** A difference of two rates, in percentage points, with its sign. */
  function formatPoints(value) {
    if (value === null || value === undefined) return none();
    const points = new Intl.NumberFormat(locale(), { maximumFractionDigits: 1, signDisplay: 'exceptZero' }).format(value * 100);
    return t('unit.points', { value: points });
  }

  function formatPValue(value) {
    if (value === null || value === undefined) return none();
    if (value < 0.001) return t('ab.p_below', { value: formatNumber(0.001, 3) });
    return new Intl.NumberFormat(locale(), { minimumFractionDigits: 3, maximumFractionDigits: 3 }).format(value);
  }

  function formatSeconds(value) {
    if (value === null || value === undefined) return none();
    if (value < 60) return t('unit.seconds', { value: formatNumber(value, 0) });
    if (value < 3600) return t('unit.minutes', { value: formatNumber(value / 60, 1) });
    return t('unit.hours', { value: formatNumber(value / 3600, 1) });
  }

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

  function formatMoney(minor, currency) {
    const digits = currencyDigits(currency);
    const decimal = minorToDecimal(minor, digits);
    try {
      return new Intl.NumberFormat(locale(), { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(decimal);
    } catch (_) {
      return `${decimal} ${currency}`;
    }
  }

  /** Major units as a number, for a chart's axis only (the tables show the exact amounts). */
  const majorUnits = (minor, currency) => Number(minor || 0) / 10 ** currencyDigits(currency);

  /** A per-currency figure ({"EUR": …, "GBP": …}) as one line, currencies in order. */
  function perCurrency(values, format) {
    const entries = Object.entries(values || {}).sort(([a], [b]) => a.localeCompare(b));
    if (!entries.length) return none();
    return entries.map(([currency, value]) => format(value, currency)).join(' · ');
  }

  function utcDate(isoDate) {
    return new Date(`${isoDate}T00:00:00Z`);
  }

  function formatDate(isoDate, options = { day: 'numeric', month: 'short', year: 'numeric' }) {
    return new Intl.DateTimeFormat(locale(), { ...options, timeZone: 'UTC' }).format(utcDate(isoDate));
  }

  /** A time bucket's label: its first day, or its month. */
  function bucketLabel(isoDate, bucket) {
    if (bucket === 'month') return formatDate(isoDate, { month: 'short', year: 'numeric' });
    if (bucket === 'week') return t('unit.week_of', { date: formatDate(isoDate, { day: 'numeric', month: 'short' }) });
    return formatDate(isoDate, { day: 'numeric', month: 'short' });
  }

  const isoDay = (date) => date.toISOString().slice(0, 10);
  const addDays = (isoDate, days) => isoDay(new Date(utcDate(isoDate).getTime() + days * DAY_MS));

  // ---------------------------------------------------------------------------------------------------------
  // The JSON API
  // ---------------------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super(`HTTP ${status}`);
      this.status = status;
      this.body = body || null;
      const type = body && typeof body.type === 'string' ? body.type : '';
      this.code = type.startsWith('urn:problem:') ? type.slice('urn:problem:'.length) : null;
    }
  }

  async function api(method, path) {
    const options = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      options.headers['Content-Type'] = 'application/json';
      if (state.csrf) options.headers['X-CSRF-Token'] = state.csrf;
      options.body = '{}';
    }
    let response;
    try {
      response = await fetch(API + path, options);
    } catch (_) {
      throw new ApiError(0, null);
    }
    if (response.status === 401) {
      window.location.assign('/console/login');
      throw new ApiError(401, null);
    }
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (_) { data = null; }
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function errorText(error) {
    if (!error) return '';
    if (error.status === 0) return t('error.network');
    if (error.code === 'invalid_period') return t('dashboard.error_period');
    if (error.code === 'unknown_creditor') return t('dashboard.error_creditor');
    if (error.code === 'invalid_range') return t('dashboard.error_range');
    return t('error.generic', { status: error.status });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Filters (kept in the address's hash, so a view can be bookmarked or shared)
  // ---------------------------------------------------------------------------------------------------------

  function today() {
    return isoDay(new Date());
  }

  function readFilters() {
    const params = new URLSearchParams((window.location.hash || '').replace(/^#/, ''));
    const creditors = (state.scope && state.scope.creditors) || [];
    const wantedCreditor = Number(params.get('creditor'));
    const creditor = creditors.some((c) => c.id === wantedCreditor) ? wantedCreditor : (creditors[0] ? creditors[0].id : null);
    const valid = (value) => /^\d{4}-\d{2}-\d{2}$/.test(value || '');
    let preset = params.get('period') || '30';
    let from = params.get('from');
    let to = params.get('to');
    if (valid(from) && valid(to)) preset = 'custom';
    else {
      if (!PRESETS.includes(preset)) preset = '30';
      to = today();
      from = addDays(to, 1 - Number(preset));
    }
    const pick = (name, allowed) => (allowed.includes(params.get(name)) ? params.get(name) : '');
    return {
      creditor,
      preset,
      from,
      to,
      channel: pick('channel', ['webchat', 'sms', 'whatsapp']),
      language: pick('language', ['fr', 'en']),
      bucket: pick('bucket', ['day', 'week', 'month']),
    };
  }

  function filtersFromForm() {
    const preset = $('filter-period').value;
    let from = $('filter-from').value;
    let to = $('filter-to').value;
    if (preset !== 'custom') {
      to = today();
      from = addDays(to, 1 - Number(preset));
    }
    return {
      creditor: Number($('filter-creditor').value) || null,
      preset,
      from,
      to,
      channel: $('filter-channel').value,
      language: $('filter-language').value,
      bucket: $('filter-bucket').value,
    };
  }

  function writeHash(filters) {
    const params = new URLSearchParams();
    if (filters.creditor) params.set('creditor', String(filters.creditor));
    if (filters.preset === 'custom') {
      params.set('from', filters.from);
      params.set('to', filters.to);
    } else {
      params.set('period', filters.preset);
    }
    for (const name of ['channel', 'language', 'bucket']) if (filters[name]) params.set(name, filters[name]);
    const hash = `#${params.toString()}`;
    if (window.location.hash !== hash) window.history.replaceState(null, '', hash);
  }

  function showFilters(filters) {
    const select = $('filter-creditor');
    const creditors = (state.scope && state.scope.creditors) || [];
    if (select.options.length !== creditors.length) {
      select.replaceChildren(...creditors.map((c) => el('option', { value: c.id, text: c.name })));
    }
    select.value = filters.creditor ? String(filters.creditor) : '';
    $('filter-period').value = filters.preset;
    $('filter-from').value = filters.from;
    $('filter-to').value = filters.to;
    $('filter-from').disabled = filters.preset !== 'custom';
    $('filter-to').disabled = filters.preset !== 'custom';
    $('filter-channel').value = filters.channel;
    $('filter-language').value = filters.language;
    $('filter-bucket').value = filters.bucket;
  }

  /** The query of the KPI endpoint: a UTC day range, the end day included. */
  function kpiQuery(filters) {
    const params = new URLSearchParams({
      creditor_id: String(filters.creditor),
      from: `${filters.from}T00:00:00Z`,
      to: `${addDays(filters.to, 1)}T00:00:00Z`,
    });
    for (const name of ['channel', 'language', 'bucket']) if (filters[name]) params.set(name, filters[name]);
    return params.toString();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Loading
  // ---------------------------------------------------------------------------------------------------------

  async function load(filters) {
    const seq = ++state.seq;
    const main = $('dashboard-main');
    writeHash(filters);
    showFilters(filters);
    if (!filters.creditor) {
      state.error = null;
      state.kpis = null;
      state.experiments = null;
      main.dataset.state = 'empty';
      render();
      return;
    }
    if (!filters.from || !filters.to || filters.from > filters.to) {
      state.error = new ApiError(422, { type: 'urn:problem:invalid_range' });
      main.dataset.state = 'error';
      render();
      return;
    }
    const query = kpiQuery(filters);
    main.dataset.state = 'loading';
    main.setAttribute('aria-busy', 'true');
    $('dashboard-status').textContent = t('common.loading');
    try {
      const [kpis, experiments] = await Promise.all([
        api('GET', `/dashboard/kpis?${query}`),
        api('GET', `/dashboard/experiments?creditor_id=${encodeURIComponent(filters.creditor)}`),
      ]);
      if (seq !== state.seq) return; // a newer choice of filters is on its way
      state.kpis = kpis;
      state.experiments = experiments;
      state.error = null;
      main.dataset.query = query;
      main.dataset.state = 'ready';
    } catch (error) {
      if (seq !== state.seq) return;
      state.error = error;
      main.dataset.state = 'error';
    } finally {
      if (seq === state.seq) main.removeAttribute('aria-busy');
    }
    render();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------------------------------------

  function render() {
    const error = $('dashboard-error');
    error.hidden = !state.error;
    error.textContent = errorText(state.error);
    const kpis = state.kpis;
    const main = $('dashboard-main');
    $('dashboard-content').hidden = !kpis || main.dataset.state === 'error';
    if (!kpis) {
      $('dashboard-status').textContent = main.dataset.state === 'empty' ? t('dashboard.no_creditor') : '';
      return;
    }
    const lastDay = addDays(kpis.to.slice(0, 10), -1);
    $('dashboard-status').textContent = t('dashboard.showing', {
      creditor: kpis.creditor.name,
      from: formatDate(kpis.from.slice(0, 10)),
      to: formatDate(lastDay),
      filters: [kpis.channel ? tv('channel', kpis.channel) : t('filters.all_channels'),
        kpis.language ? tv('language', kpis.language) : t('filters.all_languages')].join(' · '),
    });
    renderHeadline(kpis.headline);
    renderFunnel(kpis.funnel);
    renderSeries(kpis);
    renderBreakdowns(kpis);
    renderExperiments(state.experiments ? state.experiments.experiments : []);
  }

  // --- headline figures ---------------------------------------------------------------------------------------

  const of = (part, whole, unitKey) => t('kpi.of', { part: formatCount(part), whole: formatCount(whole), unit: t(unitKey) });

  const HEADLINE = [
    { field: 'accounts_placed', format: formatCount, sub: (h) => perCurrency(h.amount_placed_minor, formatMoney) },
    { field: 'amount_collected_minor', format: (v) => perCurrency(v, formatMoney) },
    { field: 'recovery_rate', format: (v) => perCurrency(v, (rate, currency) => `${currency} ${formatRate(rate)}`),
      sub: (h) => perCurrency(h.amount_recovered_minor, formatMoney) },
    { field: 'right_party_contact_rate', format: formatRate, sub: (h) => of(h.accounts_verified, h.accounts_contacted, 'unit.accounts') },
    { field: 'promise_to_pay_rate', format: formatRate,
      sub: (h) => of(h.verified_conversations_with_commitment, h.verified_conversations, 'unit.verified_conversations') },
    { field: 'promise_kept_rate', format: formatRate, sub: (h) => of(h.instalments_paid_on_time, h.instalments_due, 'unit.instalments') },
    { field: 'plan_kept_rate', format: formatRate, sub: (h) => of(h.plans_kept, h.plans_kept + h.plans_broken, 'unit.plans') },
    { field: 'cure_rate', format: formatRate, sub: (h) => of(h.accounts_cured, h.accounts_in_collection, 'unit.accounts') },
    { field: 'dso_days', format: (v) => perCurrency(v, (days, currency) => `${currency} ${t('unit.days', { value: formatNumber(days, 0) })}`) },
    { field: 'handoff_rate', format: formatRate, sub: (h) => of(h.conversations_handed_over, h.conversations, 'unit.conversations') },
    { field: 'resolved_without_person_rate', format: formatRate,
      sub: (h) => of(h.conversations_resolved_without_person, h.conversations, 'unit.conversations') },
    { field: 'agent_first_reply_seconds_avg', format: formatSeconds, sub: (h) => t('kpi.over_handoffs', { count: formatCount(h.handoffs_answered) }) },
    { field: 'disputes_per_100_conversations', format: (v) => formatNumber(v, 1), sub: (h) => t('kpi.count', { count: formatCount(h.disputes) }) },
    { field: 'opt_outs_per_100_conversations', format: (v) => formatNumber(v, 1), sub: (h) => t('kpi.count', { count: formatCount(h.opt_outs) }) },
    { field: 'complaints_per_100_conversations', format: (v) => formatNumber(v, 1), sub: (h) => t('kpi.count', { count: formatCount(h.complaints) }) },
    { field: 'messages_per_resolution', format: (v) => formatNumber(v, 1),
      sub: (h) => t('kpi.sms_segments_per_resolution', { value: formatNumber(h.sms_segments_per_resolution, 1) }) },
  ];

  function renderHeadline(headline) {
    const cards = HEADLINE.map(({ field, format, sub }) => el('div', {
      class: 'kpi-card', testid: 'kpi-card', 'data-field': field, 'data-value': JSON.stringify(headline[field]),
    },
    el('dt', { class: 'kpi-label', text: t(`kpi.${field}`) }),
    el('dd', { class: 'kpi-value', testid: 'kpi-value', text: format(headline[field]) }),
    sub ? el('dd', { class: 'kpi-sub', text: sub(headline) }) : null));
    $('headline').replaceChildren(...cards);
  }

  // --- charts with their tables -------------------------------------------------------------------------------

  function destroyCharts(prefix) {
    for (const [id, chart] of state.charts) {
      if (id.startsWith(prefix)) {
        chart.destroy();
        state.charts.delete(id);
      }
    }
  }

  /** A table of the chart's figures: `columns` are header texts, `rows` are arrays of cell texts (the first a row header). */
  function figureTable(caption, columns, rows) {
    return el('table', { class: 'figures' },
      el('caption', { text: caption }),
      el('thead', null, el('tr', null, columns.map((text) => el('th', { scope: 'col', text })))),
      el('tbody', null, rows.map((cells) => el('tr', null,
        cells.map((text, i) => (i === 0 ? el('th', { scope: 'row', text }) : el('td', { text })))))));
  }

  /** A figure: its caption, the chart (hidden from screen readers) and the same figures as a table (for them, and
   * for anyone who presses the toggle). */
  function figure(id, caption, note, config, columns, rows) {
    const tableId = `table-${id}`;
    const shown = state.shownTables.has(id);
    const toggle = el('button', {
      type: 'button', class: 'link-button small', 'aria-expanded': String(shown), 'aria-controls': tableId, testid: 'table-toggle',
      text: t(shown ? 'chart.hide_table' : 'chart.show_table'),
    });
    const tableBox = el('div', { id: tableId, class: shown ? 'table-box' : 'table-box visually-hidden', testid: 'chart-table' },
      figureTable(caption, columns, rows));
    toggle.addEventListener('click', () => {
      const nowShown = !state.shownTables.has(id);
      if (nowShown) state.shownTables.add(id); else state.shownTables.delete(id);
      toggle.setAttribute('aria-expanded', String(nowShown));
      toggle.textContent = t(nowShown ? 'chart.hide_table' : 'chart.show_table');
      tableBox.classList.toggle('visually-hidden', !nowShown);
    });
    const canvas = el('canvas', { 'aria-hidden': 'true', testid: 'chart-canvas' });
    const node = el('figure', { class: 'card chart-figure', testid: 'chart', 'data-chart': id },
      el('figcaption', null, el('span', { class: 'chart-caption', text: caption }), ' ', toggle),
      note ? el('p', { class: 'hint', text: note }) : null,
      el('div', { class: 'chart-box' }, canvas),
      tableBox);
    return { node, draw: () => drawChart(id, canvas, config) };
  }

  function drawChart(id, canvas, config) {
    if (typeof window.Chart !== 'function') return; // the library did not load: the tables still hold the figures
    const options = config.options || {};
    const chart = new window.Chart(canvas, {
      ...config,
      options: {
        locale: locale(),
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        ...options,
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } }, ...(options.plugins || {}) },
      },
    });
    state.charts.set(id, chart);
  }

  // Fresh option objects for each chart (Chart.js keeps references to what it is given).
  const percentAxis = () => ({ beginAtZero: true, suggestedMax: 1, ticks: { callback: (value) => formatRate(value) } });
  const countAxis = () => ({ beginAtZero: true, ticks: { precision: 0, callback: (value) => formatCount(value) } });
  const rateTooltip = () => ({ callbacks: { label: (item) => `${item.dataset.label}: ${formatRate(item.raw)}` } });
  const countTooltip = () => ({ callbacks: { label: (item) => `${item.dataset.label}: ${formatCount(item.raw)}` } });

  function dataset(label, data, index, extra) {
    return { label, data, backgroundColor: COLORS[index % COLORS.length], borderColor: COLORS[index % COLORS.length], ...extra };
  }

  function mount(containerId, prefix, figures) {
    destroyCharts(prefix);
    $(containerId).replaceChildren(...figures.map((f) => f.node));
    for (const f of figures) f.draw();
  }

  // --- the funnel ---------------------------------------------------------------------------------------------

  function renderFunnel(funnel) {
    const labels = funnel.map((stage) => t(`funnel.${stage.stage}`));
    const counts = funnel.map((stage) => stage.count);
    const config = {
      type: 'bar',
      data: { labels, datasets: [dataset(t('funnel.count'), counts, 0)] },
      options: { indexAxis: 'y', scales: { x: countAxis() }, plugins: { legend: { display: false }, tooltip: countTooltip() } },
    };
    const rows = funnel.map((stage, i) => [labels[i], formatCount(stage.count), t(`funnel_help.${stage.stage}`)]);
    mount('funnel-figure', 'funnel', [figure('funnel', t('funnel.caption'), t('funnel.note'), config,
      [t('funnel.stage'), t('funnel.count'), t('funnel.what')], rows)]);
  }

  // --- the time series ----------------------------------------------------------------------------------------

  function renderSeries(kpis) {
    const labels = kpis.series.map((group) => bucketLabel(group.key[kpis.bucket], kpis.bucket));
    const column = (field) => kpis.series.map((group) => group[field]);
    const step = t(`step.${kpis.bucket}`);

    const activityFields = ['conversations', 'commitments', 'handoffs'];
    const activity = figure('series-activity', t('series.activity_caption', { step }), null, {
      type: 'bar',
      data: { labels, datasets: activityFields.map((f, i) => dataset(t(`kpi.${f}`), column(f), i)) },
      options: { scales: { y: countAxis() }, plugins: { tooltip: countTooltip() } },
    }, [t(`bucket.${kpis.bucket}`), ...activityFields.map((f) => t(`kpi.${f}`))],
    kpis.series.map((group, i) => [labels[i], ...activityFields.map((f) => formatCount(group[f]))]));

    const rateFields = ['right_party_contact_rate', 'promise_to_pay_rate', 'promise_kept_rate'];
    const rates = figure('series-rates', t('series.rates_caption', { step }), t('series.rates_note'), {
      type: 'line',
      data: { labels, datasets: rateFields.map((f, i) => dataset(t(`kpi.${f}`), column(f), i, { spanGaps: true, tension: 0.2 })) },
      options: { scales: { y: percentAxis() }, plugins: { tooltip: rateTooltip() } },
    }, [t(`bucket.${kpis.bucket}`), ...rateFields.map((f) => t(`kpi.${f}`))],
    kpis.series.map((group, i) => [labels[i], ...rateFields.map((f) => formatRate(group[f]))]));

    const currencies = [...new Set(kpis.series.flatMap((group) => Object.keys(group.amount_collected_minor || {})))].sort();
    const money = figure('series-collected', t('series.collected_caption', { step }), null, {
      type: 'bar',
      data: {
        labels,
        datasets: currencies.map((currency, i) => dataset(currency,
          kpis.series.map((group) => majorUnits((group.amount_collected_minor || {})[currency], currency)), i)),
      },
      options: {
        scales: { y: { beginAtZero: true, ticks: { callback: (value) => formatNumber(value, 0) } } },
        plugins: { tooltip: { callbacks: { label: (item) => formatMoney(
          (kpis.series[item.dataIndex].amount_collected_minor || {})[item.dataset.label] || 0, item.dataset.label) } } },
      },
    }, [t(`bucket.${kpis.bucket}`), ...(currencies.length ? currencies : [t('kpi.amount_collected_minor')])],
    kpis.series.map((group, i) => [labels[i], ...(currencies.length
      ? currencies.map((c) => formatMoney((group.amount_collected_minor || {})[c] || 0, c)) : [none()])]));

    mount('series-figures', 'series', [activity, rates, money]);
  }

  // --- breakdowns ---------------------------------------------------------------------------------------------

  function groupLabel(dimension, value) {
    if (dimension === 'channel') return value ? tv('channel', value) : t('breakdown.no_conversation');
    if (dimension === 'language') return value ? tv('language', value) : none();
    return tv('hardship_reason', value);
  }

  function breakdownFigure(kpis, dimension) {
    const groups = kpis[`by_${dimension}`];
    const labels = groups.map((group) => groupLabel(dimension, group.key[dimension]));
    const rateFields = ['right_party_contact_rate', 'promise_to_pay_rate', 'handoff_rate'];
    const countFields = ['conversations', 'accounts_contacted', 'commitments', 'handoffs'];
    return figure(`breakdown-${dimension}`, t(`breakdown.${dimension}_caption`), t(`breakdown.${dimension}_note`), {
      type: 'bar',
      data: { labels, datasets: rateFields.map((f, i) => dataset(t(`kpi.${f}`), groups.map((group) => group[f]), i)) },
      options: { scales: { y: percentAxis() }, plugins: { tooltip: rateTooltip() } },
    }, [t(`breakdown.${dimension}`), ...countFields.map((f) => t(`kpi.${f}`)), ...rateFields.map((f) => t(`kpi.${f}`))],
    groups.map((group, i) => [labels[i], ...countFields.map((f) => formatCount(group[f])), ...rateFields.map((f) => formatRate(group[f]))]));
  }

  function handoffFigure(headline) {
    const reasons = Object.keys(headline.handoffs_by_reason || {}).sort();
    const labels = reasons.map((reason) => tv('reason', reason));
    return figure('breakdown-handoff', t('breakdown.handoff_caption'), null, {
      type: 'bar',
      data: { labels, datasets: [dataset(t('kpi.handoffs'), reasons.map((r) => headline.handoffs_by_reason[r]), 4)] },
      options: { scales: { y: countAxis() }, plugins: { legend: { display: false }, tooltip: countTooltip() } },
    }, [t('breakdown.handoff_reason'), t('kpi.handoffs'), t('kpi.handoff_rate')],
    reasons.map((reason, i) => [labels[i], formatCount(headline.handoffs_by_reason[reason]),
      formatRate((headline.handoff_rate_by_reason || {})[reason])]));
  }

  function renderBreakdowns(kpis) {
    mount('breakdown-figures', 'breakdown', [
      breakdownFigure(kpis, 'channel'),
      breakdownFigure(kpis, 'language'),
      breakdownFigure(kpis, 'hardship_reason'),
      handoffFigure(kpis.headline),
    ]);
  }

  // --- A/B tests ----------------------------------------------------------------------------------------------

  function verdictText(report) {
    if (!report.ready) {
      const smallest = Math.min(...report.arms.map((arm) => arm.n));
      return t('ab.not_enough', { n: formatCount(smallest), m: formatCount(report.min_sample_per_arm) });
    }
    if (report.winner) return t('ab.winner', { arm: report.winner });
    return t('ab.no_winner');
  }

  function intervalText(interval) {
    return interval ? t('ab.interval', { low: formatRate(interval.low), high: formatRate(interval.high) }) : none();
  }

  function pointsInterval(interval) {
    return interval ? t('ab.interval', { low: formatPoints(interval.low), high: formatPoints(interval.high) }) : none();
  }

  function experimentCard(report, index) {
    const experiment = report.experiment;
    const id = `ab-${experiment.id}`;
    const level = formatRate(report.interval_level);
    const what = experiment.kind === 'cadence'
      ? t('ab.cadence', { target: tv('cadence', experiment.target) })
      : t('ab.response', { target: experiment.target });
    const outcome = experiment.outcome === 'payment_within_days'
      ? t('ab_outcome.payment_within_days', { days: formatCount(experiment.outcome_days) })
      : tv('ab_outcome', experiment.outcome);
    const armName = (arm) => (arm.control ? t('ab.control_name', { arm: arm.name }) : arm.name);

    const chart = figure(id, t('ab.chart_caption', { name: experiment.name, level: formatRate(0.95) }), null, {
      type: 'bar',
      data: {
        labels: report.arms.map(armName),
        datasets: [
          dataset(t('ab.interval_label'), report.arms.map((arm) => (arm.interval ? [arm.interval.low, arm.interval.high] : null)), index + 1,
            { backgroundColor: 'rgba(31, 79, 138, 0.25)', borderWidth: 1, barPercentage: 0.5 }),
          dataset(t('ab.rate'), report.arms.map((arm) => arm.rate), 1, { type: 'line', showLine: false, pointRadius: 6, pointStyle: 'rectRot' }),
        ],
      },
      options: {
        scales: { y: percentAxis() },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => (Array.isArray(item.raw)
                ? `${item.dataset.label}: ${t('ab.interval', { low: formatRate(item.raw[0]), high: formatRate(item.raw[1]) })}`
                : `${item.dataset.label}: ${formatRate(item.raw)}`),
            },
          },
        },
      },
    }, [t('ab.arm'), t('ab.n'), t('ab.successes'), t('ab.rate'), t('ab.interval_col', { level: formatRate(0.95) }), t('ab.remaining')],
    report.arms.map((arm) => [armName(arm), formatCount(arm.n), formatCount(arm.successes), formatRate(arm.rate), intervalText(arm.interval),
      formatCount(arm.remaining)]));

    const comparisons = figureTable(t('ab.comparisons_caption', { level }),
      [t('ab.challenger'), t('ab.difference'), t('ab.interval_col', { level }), t('ab.p_value'), t('ab.verdict')],
      report.comparisons.map((c) => [t('ab.versus', { arm: c.arm, control: c.control }), formatPoints(c.difference),
        pointsInterval(c.interval), formatPValue(c.p_value), tv('verdict', c.verdict)]));

    const card = el('article', { class: 'card experiment', testid: 'experiment', 'data-experiment-id': experiment.id,
      'data-ready': String(report.ready), 'aria-labelledby': `${id}-title` },
    el('header', { class: 'experiment-head' },
      el('h3', { id: `${id}-title`, text: experiment.name }),
      el('span', { class: `badge experiment-${experiment.status}`, text: tv('experiment_status', experiment.status) })),
    el('p', { class: 'muted small', text: `${what} · ${t('ab.outcome', { outcome })} · ${t('ab.plan', { m: formatCount(report.min_sample_per_arm) })}` }),
    el('p', { class: report.ready ? 'ab-verdict ready' : 'ab-verdict', testid: 'ab-verdict', role: 'note', text: verdictText(report) }),
    el('div', { class: 'experiment-body' }, chart.node, el('div', { class: 'table-box comparisons' }, comparisons)),
    el('p', { class: 'hint', text: t('ab.method', { alpha: formatNumber(report.adjusted_alpha, 4) }) }));
    return { node: card, draw: chart.draw };
  }

  function renderExperiments(reports) {
    destroyCharts('ab-');
    const box = $('experiments');
    if (!reports.length) {
      box.replaceChildren(el('p', { class: 'placeholder', testid: 'no-experiments', text: t('ab.none') }));
      return;
    }
    const cards = reports.map(experimentCard);
    box.replaceChildren(...cards.map((c) => c.node));
    for (const c of cards) c.draw();
  }

  // ---------------------------------------------------------------------------------------------------------
  // The page
  // ---------------------------------------------------------------------------------------------------------

  function applyStaticTranslations() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-aria-label]')) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
    $('ui-language').value = state.lang;
    if (state.me) $('role-badge').textContent = tv('role', state.me.agent.role);
  }

  function setLanguage(lang) {
    if (!LANGUAGES.includes(lang)) return;
    state.lang = lang;
    try { window.localStorage.setItem(LANGUAGE_KEY, lang); } catch (_) { /* ignore */ }
    applyStaticTranslations();
    render();
  }

  async function signOut() {
    $('sign-out').disabled = true;
    try { await api('DELETE', '/session'); } catch (_) { /* the session is gone either way */ }
    window.location.assign('/console/login');
  }

  async function loadTranslations() {
    try {
      const response = await fetch('/console/static/i18n.json', { credentials: 'same-origin' });
      state.dict = response.ok ? await response.json() : {};
    } catch (_) {
      state.dict = {};
    }
  }

  function wire() {
    $('ui-language').addEventListener('change', (event) => setLanguage(event.target.value));
    $('sign-out').addEventListener('click', signOut);
    const onChange = () => load(filtersFromForm());
    for (const id of ['filter-creditor', 'filter-channel', 'filter-language', 'filter-bucket', 'filter-from', 'filter-to']) {
      $(id).addEventListener('change', onChange);
    }
    // "Custom" starts from the dates shown, which become editable.
    $('filter-period').addEventListener('change', onChange);
    $('filters').addEventListener('submit', (event) => { event.preventDefault(); onChange(); });
    window.addEventListener('hashchange', () => load(readFilters()));
  }

  async function start() {
    state.lang = initialLanguage();
    wire();
    await loadTranslations();
    applyStaticTranslations();
    try {
      state.me = await api('GET', '/me');
      state.csrf = state.me.csrf_token;
      state.scope = await api('GET', '/dashboard');
    } catch (error) {
      if (error.status !== 401) {
        state.error = error;
        render();
      }
      return;
    }
    $('agent-name').textContent = state.me.agent.name;
    $('nav-queue').hidden = state.scope.role !== 'agent';
    $('read-only-note').hidden = state.scope.role !== 'manager';
    applyStaticTranslations();
    await load(readFilters());
  }

  start();
})();
