/* discuss embed loader: runs on the publisher's page. It adds one iframe (the thread, served and
 * isolated by the comment host) and fills comment counts. It reads nothing from the page except
 * its own data-* attributes, the canonical URL, the title and our own #discuss-… fragments, and only accepts messages from the
 * comment host's origin. A single sign-on token (data-sso-token or window.discussSSO(token)) goes
 * to the iframe by postMessage addressed to the comment host, never in its URL. */
(function () {
  'use strict';
  var script = document.currentScript || document.querySelector('script[src*="/embed.js"][data-site]');
  if (!script) return;
  // The count strings of every language (filled in by the server); one is picked below.
  var ALL = /*STRINGS*/{};
  var host = new URL(script.src, location.href).origin;
  var ds = script.dataset;
  var site = ds.site;
  if (!site) return;
  // The reader's languages, best first: the browser's (navigator.languages), for the thread to choose
  // from when neither data-lang nor the site's default language decides.
  var browserLangs = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || '']).slice(0, 10);
  function pick(tags) {
    for (var i = 0; i < tags.length; i++) {
      var code = String(tags[i] || '').split(/[-_]/)[0].toLowerCase();
      if (ALL[code]) return code;
    }
    return 'en';
  }
  // Counts and the frame's title are on the publisher's page: data-lang, else the page's own
  // language (<html lang>), else the browser's.
  var STR = ALL[pick([ds.lang, document.documentElement.lang].concat(browserLangs))] || ALL.en || {};

  function canonical() {
    var link = document.querySelector('link[rel="canonical"]');
    return (link && link.href) || location.href.split('#')[0];
  }

  function plural(n) {
    var rule = window.Intl && Intl.PluralRules ? new Intl.PluralRules(STR.locale || 'en').select(n) : (n === 1 ? 'one' : 'other');
    var s = n === 0 && STR.count_zero ? STR.count_zero : (STR['count_' + rule] || STR.count_other || '{n}');
    return s.split('{n}').join(window.Intl ? new Intl.NumberFormat(STR.locale || 'en').format(n) : String(n));
  }

  function mountThread() {
    var box = document.getElementById(ds.container || 'discuss-thread');
    if (!box || box.getAttribute('data-discuss-mounted')) return;
    box.setAttribute('data-discuss-mounted', '1');
    var theme = ds.theme === 'light' || ds.theme === 'dark' ? ds.theme : '';
    var q = new URLSearchParams({
      site: site,
      article: ds.article || canonical(),
      url: ds.articleUrl || canonical(),
      title: ds.articleTitle || document.title,
      origin: location.origin
    });
    if (theme) q.set('theme', theme);
    if (ds.lang) q.set('lang', ds.lang);
    q.set('langs', browserLangs.join(','));
    // A permalink (#discuss-comment-<id>): the thread opens at that comment.
    function linked() { var m = /^#discuss-comment-(\d+)$/.exec(location.hash); return m && m[1]; }
    if (linked()) q.set('comment', linked());
    // A password-reset link from our email (#discuss-reset=<token>): out of the address bar (and
    // so out of bookmarks, history and the page's later reads) at once; the widget gets it by
    // postMessage, never in its URL.
    var reset = /^#discuss-reset=([\w.\-]{1,2000})$/.exec(location.hash);
    if (reset) history.replaceState(history.state, '', location.pathname + location.search);
    // SSO state: the attribute's token ('' = signed out) unless the page calls discussSSO itself.
    var manual = ds.sso === 'manual';
    var sso = manual ? undefined : (ds.ssoToken || null);
    var ready = false;
    if (!manual) q.set('sso', '1');
    if (ds.ssoLoginUrl) q.set('login', '1');
    var frame = document.createElement('iframe');
    frame.src = host + '/embed/thread?' + q.toString();
    frame.title = STR.frame_title || 'Comments';
    frame.name = 'discuss-thread';
    frame.setAttribute('scrolling', 'no');
    // The widget may not navigate the publisher's page; links open in a new tab. (When the page is
    // on the comment host itself, as /demo is, a sandbox protects nothing and Chrome warns about it.)
    if (host !== location.origin) {
      frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox allow-downloads');
    }
    frame.style.cssText = 'display:block;width:100%;min-width:0;height:320px;border:0;margin:0;padding:0;overflow:hidden;background:transparent';
    if (theme) frame.style.colorScheme = theme;
    function sendSSO() {
      if (ready && sso !== undefined) frame.contentWindow.postMessage({ type: 'discuss:sso', token: sso }, host);
    }
    // The publisher's page signs a reader in (a fresh token) or out (null) at any time.
    window.discussSSO = function (token) {
      sso = typeof token === 'string' && token ? token : null;
      sendSSO();
    };
    window.addEventListener('message', function (e) {
      if (e.origin !== host || e.source !== frame.contentWindow) return;
      var d = e.data;
      if (!d) return;
      if (d.type === 'discuss:ready') {
        ready = true;
        // The thread chose its language (the site's default may decide it): name the frame in it.
        if (ALL[d.lang]) frame.title = ALL[d.lang].frame_title;
        sendSSO();
        if (reset) frame.contentWindow.postMessage({ type: 'discuss:reset', token: reset[1] }, host);
        reset = null;
        return;
      }
      if (d.type === 'discuss:login' && ds.ssoLoginUrl) { location.href = ds.ssoLoginUrl; return; }
      if (d.type === 'discuss:scroll') {
        window.scrollTo({ top: frame.getBoundingClientRect().top + window.pageYOffset + Math.max(0, Number(d.top) || 0) - 80,
          behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
        return;
      }
      if (d.type !== 'discuss:resize') return;
      var height = Math.round(Number(d.height));
      if (height > 0 && height < 200000) frame.style.height = height + 'px';
    });
    window.addEventListener('hashchange', function () {
      if (ready && linked()) frame.contentWindow.postMessage({ type: 'discuss:focus', id: Number(linked()) }, host);
    });
    box.replaceChildren ? box.replaceChildren(frame) : (box.textContent = '', box.appendChild(frame));
  }

  function fillCounts() {
    var els = document.querySelectorAll('[data-discuss-count]');
    if (!els.length) return;
    var ids = [];
    for (var i = 0; i < els.length; i++) {
      var id = els[i].getAttribute('data-discuss-count') || canonical();
      if (ids.indexOf(id) < 0) ids.push(id);
    }
    // One GET per 50 articles (URLs stay short): a plain GET needs no CORS preflight, and
    // browsers, proxies and CDNs may cache it (the site's cache_max_age_seconds).
    for (var start = 0; start < ids.length; start += 50) {
      var q = 'site=' + encodeURIComponent(site);
      for (var k = start; k < Math.min(ids.length, start + 50); k++) q += '&article=' + encodeURIComponent(ids[k]);
      fetch(host + '/api/v1/counts?' + q, { mode: 'cors', credentials: 'omit' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data || !data.counts) return;
        for (var j = 0; j < els.length; j++) {
          var key = els[j].getAttribute('data-discuss-count') || canonical();
          var n = data.counts[key];
          if (typeof n !== 'number') continue;
          els[j].textContent = els[j].getAttribute('data-discuss-count-format') === 'number' ? String(n) : plural(n);
          els[j].setAttribute('data-discuss-count-value', String(n));
        }
      })['catch'](function () { /* counts are decoration; never break the page */ });
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { mountThread(); fillCounts(); });
  } else {
    mountThread();
    fillCounts();
  }
})();
