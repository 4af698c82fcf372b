// Sign-in page of the agent console. No framework, no inline script (strict CSP): everything is wired here.
'use strict';

(() => {
  const LANGUAGES = ['fr', 'en'];
  const LANGUAGE_KEY = 'console.language';
  const i18n = { all: {}, lang: 'en' };

  function storedLanguage() {
    try {
      const stored = window.localStorage.getItem(LANGUAGE_KEY);
      if (LANGUAGES.includes(stored)) return stored;
    } catch (_) { /* storage may be disabled */ }
    const browser = String(navigator.language || 'en').slice(0, 2).toLowerCase();
    return LANGUAGES.includes(browser) ? browser : 'en';
  }

  function t(key, vars) {
    let text = (i18n.all[i18n.lang] || {})[key];
    if (text === undefined) text = (i18n.all.en || {})[key];
    if (text === undefined) return key;
    if (vars) text = text.replace(/\{(\w+)\}/g, (match, name) => (vars[name] === undefined ? match : String(vars[name])));
    return text;
  }

  function applyTranslations() {
    document.documentElement.lang = i18n.lang;
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    const select = document.getElementById('ui-language');
    if (select) select.value = i18n.lang;
    if (lastError) showError(lastError);
  }

  const form = document.getElementById('sign-in-form');
  const email = document.getElementById('email');
  const password = document.getElementById('password');
  const button = form.querySelector('[data-testid="sign-in"]');
  const errorBox = document.getElementById('sign-in-error');
  let lastError = null; // an i18n key, so a language switch translates the error shown
  let busy = false;

  function showError(key) {
    lastError = key;
    errorBox.textContent = t(key);
    errorBox.hidden = false;
  }

  function clearError() {
    lastError = null;
    errorBox.textContent = '';
    errorBox.hidden = true;
  }

  async function signIn(event) {
    event.preventDefault();
    if (busy) return;
    clearError();
    const address = email.value.trim();
    if (!address || !password.value) {
      showError('login.missing');
      (address ? password : email).focus();
      return;
    }
    busy = true;
    button.disabled = true;
    button.textContent = t('login.submitting');
    try {
      const response = await fetch('/console/api/session', {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ email: address, password: password.value }),
      });
      if (response.ok) {
        // The CSRF token is read again by the console page from /console/api/me: nothing is stored here.
        window.location.assign('/console');
        return;
      }
      let problem = null;
      try { problem = await response.json(); } catch (_) { /* not JSON */ }
      const code = problem && typeof problem.type === 'string' && problem.type.startsWith('urn:problem:')
        ? problem.type.slice('urn:problem:'.length) : null;
      if (response.status === 429) showError('error.too_many_sign_ins');
      else if (response.status === 401 || response.status === 422 || code === 'invalid_credentials') showError('error.invalid_credentials');
      else {
        lastError = null;
        errorBox.textContent = problem && typeof problem.detail === 'string'
          ? t('error.detail', { detail: problem.detail }) : t('error.generic', { status: response.status });
        errorBox.hidden = false;
      }
      password.select();
      password.focus();
    } catch (_) {
      showError('error.network');
    } finally {
      busy = false;
      button.disabled = false;
      button.textContent = t('login.submit');
    }
  }

  form.addEventListener('submit', signIn);
  button.disabled = false; // enabled only once the handler is in place: never a native form submission

  document.getElementById('ui-language').addEventListener('change', (event) => {
    const value = event.target.value;
    if (!LANGUAGES.includes(value)) return;
    i18n.lang = value;
    try { window.localStorage.setItem(LANGUAGE_KEY, value); } catch (_) { /* ignore */ }
    applyTranslations();
  });

  i18n.lang = storedLanguage();
  fetch('/console/static/i18n.json', { credentials: 'same-origin' })
    .then((response) => (response.ok ? response.json() : {}))
    .then((all) => { i18n.all = all || {}; applyTranslations(); })
    .catch(() => applyTranslations());
})();
