/* CoMNIST drawing site: drawing, the upload queue and the game. No dependencies. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("config").textContent);
  var m = config.messages;
  var PREFIX = "comnist:";
  var LIMITS = { strokes: 64, points: 3900, perStroke: 1000 };
  var MINE = 48;

  // ---- storage that survives reloads (and degrades to memory when blocked) ----
  var memory = {}, memoryOnly = {};
  function load(name, fallback) {
    // After a failed write (storage full or blocked) the copy in memory is the newer one.
    if (memoryOnly[name]) return memory[name];
    try {
      var raw = window.localStorage.getItem(PREFIX + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return name in memory ? memory[name] : fallback;
    }
  }
  function save(name, value) {
    memory[name] = value;
    try {
      window.localStorage.setItem(PREFIX + name, JSON.stringify(value));
      delete memoryOnly[name];
    } catch (e) {
      memoryOnly[name] = true;
    }
  }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; a LAN kiosk over plain http has getRandomValues only.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  var session = load("session", null);
  if (!session) { session = uuid4(); save("session", session); }

  function fmt(n) { return new Intl.NumberFormat(config.lang).format(n); }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }
  function $(id) { return document.getElementById(id); }
  var pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(config.lang) : null;
  // A message that depends on a number is {one, few, many, other}: the language's plural rules pick.
  function plural(message, n, values) {
    var form = typeof message === "string" ? message
      : message[pluralRules ? pluralRules.select(n) : "other"] || message.other;
    var all = { n: fmt(n) };
    for (var key in values || {}) all[key] = values[key];
    return fill(form, all);
  }
  function levelOf(n) {
    var level = 0;
    config.levels.forEach(function (threshold) { if (n >= threshold) level += 1; });
    return level;
  }

  // ---- background uploads: a persistent queue, sent in order, retried with backoff ----
  var sending = false, attempt = 0, retryTimer = null;
  var TIMEOUT_MS = 20000;

  function pending() { return load("queue", []); }
  function enqueue(drawing) { var q = pending(); q.push(drawing); save("queue", q); }
  function forget(id) {
    save("queue", pending().filter(function (d) { return d.id !== id; }));
    var held = load("held", {});
    if (id in held) { delete held[id]; save("held", held); }
  }
  function retryable(status) { return status >= 500 || status === 408 || status === 429; }

  // A 429 with Retry-After is this session's hourly cap for one letter: that drawing stays queued
  // and waits until then (coming back online does not hurry it), while other letters go on.
  function hold(id, wait) { var held = load("held", {}); held[id] = Date.now() + wait; save("held", held); }
  function sendable() {
    var held = load("held", {}), now = Date.now();
    return pending().filter(function (d) { return !(held[d.id] > now); });
  }
  function nextRelease() {
    var held = load("held", {}), now = Date.now(), soonest = null;
    pending().forEach(function (d) {
      if (held[d.id] > now && (soonest === null || held[d.id] < soonest)) soonest = held[d.id];
    });
    return soonest === null ? null : soonest - now;
  }

  function post(path, body) {
    // A request that hangs on a dead connection must not hold up the queue forever.
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort && setTimeout(function () { abort.abort(); }, TIMEOUT_MS);
    return fetch(config.api + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: abort ? abort.signal : undefined
    }).finally(function () { clearTimeout(timer); });
  }

  // Seconds from a 503's or 429's Retry-After header, when the API says how long to wait.
  function retryAfter(response, maxSeconds) {
    var seconds = parseInt(response.headers.get("Retry-After"), 10);
    return seconds >= 0 ? Math.min(seconds, maxSeconds || 300) * 1000 : null;
  }

  function schedule(wait) {
    clearTimeout(retryTimer);
    // Exponential backoff with jitter, so many phones coming back online do not retry in step.
    var backoff = Math.min(60000, 1000 * Math.pow(2, Math.min(attempt - 1, 6))) * (0.75 + Math.random() / 2);
    retryTimer = setTimeout(flush, wait === null || wait === undefined ? backoff : wait);
  }

  function Retry(wait) { this.wait = wait; }
  function Held() {}

  function flush() {
    if (sending) return;
    var item = sendable()[0];
    var contributor = load("contributor", null);
    if (!item && !contributor) {
      var release = nextRelease();
      if (release !== null) { clearTimeout(retryTimer); retryTimer = setTimeout(flush, release); }
      showQueue();
      return;
    }
    sending = true;
    var request = item ? post("/drawings", item) : post("/contributors", contributor);
    request.then(function (response) {
      var capped = item && response.status === 429 && retryAfter(response, 3600);
      if (capped) { hold(item.id, capped); throw new Held(); }
      if (retryable(response.status)) throw new Retry(retryAfter(response));
      if (response.status === 400 && item && item.drawn_at) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!/drawn_at/.test(body.error || "")) return response;
          // A device clock far off must not cost the drawing: it goes again without its time.
          save("queue", pending().map(function (d) { if (d.id === item.id) delete d.drawn_at; return d; }));
          throw new Retry(0);
        });
      }
      return response;
    }).then(function (response) {
      if (!response.ok && window.console) console.warn("CoMNIST refused an upload", response.status);
      // Delivered (201), already there (200) or refused for good (4xx): either way it leaves the queue.
      if (item) forget(item.id); else save("contributor", null);
      attempt = 0;
      sending = false;
      showQueue();
      flush();
    }).catch(function (error) {
      sending = false;
      showQueue();
      if (error instanceof Held) { flush(); return; }
      attempt += 1;
      schedule(error instanceof Retry ? error.wait : null);
    });
  }

  function showQueue() {
    var el = $("queue-status");
    if (!el) return;
    var n = pending().length;
    el.textContent = n ? plural(m.pending, n) : (load("count", 0) ? m.all_sent : "");
  }

  window.addEventListener("online", function () { attempt = 0; flush(); });
  // Phones freeze background tabs: try again as soon as the participant comes back.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !sending) { attempt = 0; flush(); }
  });

  // ---- pages other than the drawing page ----
  var thanks = $("thanks-count");
  if (thanks) {
    var drawnCount = load("count", 0);
    thanks.textContent = drawnCount ? plural(m.thanks_count, drawnCount) : m.thanks_none;
  }
  // The participant's deletion code, to ask for erasure: SHA-256 of the session, 12 hex digits
  // (comnist.forget.deletion_code). Secure contexts only, as crypto.subtle is.
  var codeSlot = $("deletion-code");
  if (codeSlot && window.crypto && crypto.subtle && window.TextEncoder) {
    crypto.subtle.digest("SHA-256", new TextEncoder().encode("comnist-deletion-code:" + session)).then(function (digest) {
      var hex = Array.prototype.map.call(new Uint8Array(digest, 0, 6), function (x) { return (x + 256).toString(16).slice(1); }).join("");
      codeSlot.textContent = hex.slice(0, 4) + "-" + hex.slice(4, 8) + "-" + hex.slice(8);
      $("deletion-code-line").hidden = false;
    }).catch(function () { /* no code: the maintainer asks when and where they drew */ });
  }
  // The share text says how many letters and which level, once there is something to say.
  function shareText() {
    var n = load("count", 0), level = levelOf(n);
    return n && level ? plural(m.share_count_text, n, { level: m.levels[level - 1] }) : m.share_text;
  }
  // The network links carry the same text: the page fills each link's template with it.
  var shareLinks = document.querySelectorAll("a[data-template]");
  Array.prototype.forEach.call(shareLinks, function (link) {
    link.href = link.getAttribute("data-template").split("%7Btext%7D").join(encodeURIComponent(shareText()));
  });
  var copyButton = $("copy-link");
  if (copyButton) {
    copyButton.addEventListener("click", function () {
      var text = config.share_url;
      var copied = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text) : Promise.reject(new Error("no clipboard"));
      copied.catch(function () {
        // Without the asynchronous clipboard (plain http on a LAN), the old way still copies.
        var field = document.createElement("textarea");
        field.value = text;
        field.setAttribute("readonly", "");
        field.className = "visually-hidden";
        document.body.appendChild(field);
        field.select();
        var ok = document.execCommand && document.execCommand("copy");
        field.remove();
        if (!ok) throw new Error("copy refused");
      }).then(function () { $("copy-done").textContent = m.copy_done; },
              function () { $("copy-done").textContent = text; });
    });
  }
  var shareButton = $("native-share");
  if (shareButton && navigator.share) {
    shareButton.hidden = false;
    shareButton.addEventListener("click", function () {
      navigator.share({ title: document.title, text: shareText(), url: config.share_url }).catch(function () {});
    });
  }

  // ---- my letters: the participant's own drawings from this device ----
  function drawLetter(target, item, x0, y0, size) {
    var scale = size / Math.max(item.canvas.width, item.canvas.height);
    var dx = x0 + (size - item.canvas.width * scale) / 2, dy = y0 + (size - item.canvas.height * scale) / 2;
    target.lineCap = target.lineJoin = "round";
    target.lineWidth = size * 15 / 278;
    target.strokeStyle = target.fillStyle = "#111";
    item.strokes.forEach(function (s) {
      target.beginPath();
      if (s[0].length === 1) {
        target.arc(s[0][0] * scale + dx, s[1][0] * scale + dy, target.lineWidth / 2, 0, 2 * Math.PI);
        target.fill();
        return;
      }
      target.moveTo(s[0][0] * scale + dx, s[1][0] * scale + dy);
      for (var i = 1; i < s[0].length; i++) target.lineTo(s[0][i] * scale + dx, s[1][i] * scale + dy);
      target.stroke();
    });
  }

  function shareImage(mine) {
    var columns = Math.max(3, Math.min(6, mine.length)), shown = mine.slice(-columns * 4), cell = 160, pad = 24;
    var rows = Math.ceil(shown.length / columns);
    var picture = document.createElement("canvas");
    picture.width = columns * cell + 2 * pad;
    picture.height = rows * cell + 2 * pad + 96;
    var c = picture.getContext("2d");
    c.fillStyle = "#fafaf7";
    c.fillRect(0, 0, picture.width, picture.height);
    shown.forEach(function (item, i) {
      var x = pad + (i % columns) * cell, y = pad + Math.floor(i / columns) * cell;
      c.fillStyle = "#fff";
      c.fillRect(x + 6, y + 6, cell - 12, cell - 12);
      drawLetter(c, item, x + 14, y + 14, cell - 28);
    });
    // The picture speaks for the site wherever it travels: its address, the count and the level.
    var n = load("count", 0), level = levelOf(n);
    c.fillStyle = "#0b5cad";
    c.font = "bold 32px system-ui, sans-serif";
    c.fillText("CoMNIST", pad, picture.height - pad - 48);
    c.font = "20px system-ui, sans-serif";
    c.fillText(config.share_url.replace(/^https?:\/\//, ""), pad, picture.height - pad - 12, picture.width - 2 * pad);
    c.fillStyle = "#111";
    c.font = "18px system-ui, sans-serif";
    var words = plural(m.thanks_count, n) + (level ? " " + fill(m.share_picture_level, { level: m.levels[level - 1] }) : "");
    c.fillText(words, pad + 160, picture.height - pad - 50, picture.width - 2 * pad - 160);
    return picture;
  }

  var myLetters = $("my-letters");
  var mine = load("mine", []);
  if (myLetters && mine.length) {
    var grid = $("my-letters-grid");
    mine.forEach(function (item) {
      var small = document.createElement("canvas");
      var dpr = window.devicePixelRatio || 1;
      small.width = small.height = Math.round(96 * dpr);
      small.setAttribute("aria-label", item.letter);
      drawLetter(small.getContext("2d"), item, 0, 0, small.width);
      grid.appendChild(small);
    });
    myLetters.hidden = false;
    $("share-image").addEventListener("click", function () {
      shareImage(mine).toBlob(function (blob) {
        var name = "comnist-letters.png";
        var file = window.File ? new File([blob], name, { type: "image/png" }) : null;
        if (file && navigator.canShare && navigator.canShare({ files: [file] })) {
          navigator.share({ files: [file], title: document.title, text: shareText(), url: config.share_url })
            .catch(function () {});
          return;
        }
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = name;
        document.body.appendChild(link);
        link.click();
        $("share-done").textContent = m.share_saved;
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      }, "image/png");
    });
  }

  // ---- the end of a round: the participant's letters beside other people's ----
  // The gallery (a script and a picture of real drawings per alphabet) loads only when shown.
  function loadReveal(callback) {
    var spec = config.gallery;
    if (!spec) return;
    if (window.comnistReveal) { callback(window.comnistReveal); return; }
    var script = document.createElement("script");
    script.src = spec.script;
    script.onload = function () { callback(window.comnistReveal); };
    document.head.appendChild(script);
  }
  // The last `limit` different letters drawn, newest first, each with its latest drawing.
  function lastLetters(items, limit) {
    var seen = {}, picked = [];
    for (var i = items.length - 1; i >= 0 && picked.length < limit; i--) {
      if (seen[items[i].letter]) continue;
      seen[items[i].letter] = true;
      picked.push(items[i]);
    }
    return picked;
  }
  function showReveal(grid, items, done) {
    loadReveal(function (reveal) {
      reveal.show(grid, lastLetters(items, 10), config.gallery, { you: m.reveal_you, draw: drawLetter })
        .then(done, function () { /* offline without the gallery: no reveal */ });
    });
  }
  var revealSection = $("reveal-section");
  if (revealSection && mine.length && config.gallery) {
    showReveal($("reveal-grid"), mine, function () { revealSection.hidden = false; });
  }

  // The thanks page offers the alphabet the participant has not been drawing.
  var otherLink = $("other-alphabet");
  if (otherLink) {
    var drawn = load("alphabet:" + config.lang, config.alphabet);
    otherLink.href = config.base + "/" + config.lang + "/?alphabet=" + (drawn === "latin" ? "cyrillic" : "latin");
  }

  // ---- offline-first: a service worker keeps the site, so it opens with no network ----
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(config.base + "/sw.js").catch(function () { /* then online only */ });
    });
  }

  var canvas = $("draw-area");
  if (!canvas) { flush(); return; }

  // ---- the drawing page ----
  var params = new URLSearchParams(location.search);
  var alphabet = params.get("alphabet") || load("alphabet:" + config.lang, config.alphabet);
  if (!config.alphabets[alphabet]) alphabet = config.alphabet;
  save("alphabet:" + config.lang, alphabet);
  var counts = {};
  var total = null;  // the alphabet's community total, once /stats has answered
  var goal = config.goal;
  var letter = null;
  var strokes = [], current = null, activePointer = null, startTime = null, lastTime = 0, pointerType = "mouse";
  var ctx = canvas.getContext("2d");

  function totalPoints() {
    return strokes.reduce(function (sum, s) { return sum + s[0].length; }, 0);
  }

  function lineWidth() { return canvas.clientWidth * 15 / 278; }

  function redraw() {
    var dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = lineWidth();
    ctx.strokeStyle = ctx.fillStyle = "#000";
    strokes.forEach(function (s) {
      ctx.beginPath();
      if (s[0].length === 1) {
        ctx.arc(s[0][0], s[1][0], lineWidth() / 2, 0, 2 * Math.PI);
        ctx.fill();
        return;
      }
      ctx.moveTo(s[0][0], s[1][0]);
      for (var i = 1; i < s[0].length; i++) ctx.lineTo(s[0][i], s[1][i]);
      ctx.stroke();
    });
  }

  var drawnWidth = 0;
  function resize() {
    var dpr = window.devicePixelRatio || 1;
    // A phone turned sideways resizes the area: scale what is drawn so it keeps its shape and place.
    // A hidden or collapsing layout can report a zero width for a moment: that is no resize.
    if (!canvas.clientWidth) return;
    var ratio = drawnWidth ? canvas.clientWidth / drawnWidth : 1;
    if (ratio !== 1) {
      strokes.forEach(function (s) {
        for (var i = 0; i < s[0].length; i++) {
          s[0][i] = Math.round(s[0][i] * ratio * 10) / 10;
          s[1][i] = Math.round(s[1][i] * ratio * 10) / 10;
        }
      });
    }
    drawnWidth = canvas.clientWidth;
    canvas.width = Math.round(canvas.clientWidth * dpr);
    canvas.height = Math.round(canvas.clientHeight * dpr);
    redraw();
  }

  function updateButtons() {
    var empty = strokes.length === 0;
    $("undo").disabled = empty;
    $("clear").disabled = empty;
    $("next").disabled = empty;
    // A first letter drawn but not yet sent can be finished too: Finish sends it.
    $("finish").disabled = empty && load("count", 0) === 0;
  }

  function position(event) {
    var rect = canvas.getBoundingClientRect();
    var w = rect.width, h = rect.height;
    // Keep points near the canvas: a finger sliding off it must not produce far-away coordinates.
    var x = Math.min(Math.max(event.clientX - rect.left, -0.2 * w), 1.2 * w);
    var y = Math.min(Math.max(event.clientY - rect.top, -0.2 * h), 1.2 * h);
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }

  function addPoint(event) {
    if (totalPoints() >= LIMITS.points || current[0].length >= LIMITS.perStroke) return;
    var p = position(event);
    var n = current[0].length;
    if (n && Math.abs(p[0] - current[0][n - 1]) + Math.abs(p[1] - current[1][n - 1]) < 1) return;
    lastTime = Math.max(lastTime, Math.round(event.timeStamp - startTime));
    current[0].push(p[0]);
    current[1].push(p[1]);
    current[2].push(lastTime);
  }

  canvas.addEventListener("pointerdown", function (event) {
    // One pointer draws; a second finger (or a palm) is ignored until the first lifts.
    if (activePointer !== null || strokes.length >= LIMITS.strokes) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    // The pen has priority: a celebration or a counted goal gives way at the first touch.
    hideReward();
    if (showGoal.counted) showGoal();
    activePointer = event.pointerId;
    pointerType = event.pointerType || "mouse";
    try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* synthetic pointers */ }
    if (startTime === null) { startTime = event.timeStamp; lastTime = 0; }
    current = [[], [], []];
    strokes.push(current);
    addPoint(event);
    redraw();
  });

  canvas.addEventListener("pointermove", function (event) {
    if (event.pointerId !== activePointer) return;
    event.preventDefault();
    var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    if (!events.length) events = [event];
    events.forEach(addPoint);
    redraw();
    // A few guesses a second while the finger moves: a guess costs a few milliseconds.
    if (recognizer && event.timeStamp - lastGuess > 400) { lastGuess = event.timeStamp; guess(); }
  });

  function endStroke(event) {
    if (event.pointerId !== activePointer) return;
    activePointer = null;
    current = null;
    updateButtons();
    guess();
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  canvas.addEventListener("contextmenu", function (event) { event.preventDefault(); });

  function clearDrawing() {
    strokes = [];
    current = null;
    activePointer = null;
    startTime = null;
    redraw();
    updateButtons();
    showGuess(null);
  }

  function undo() { strokes.pop(); redraw(); updateButtons(); if (strokes.length) guess(); else showGuess(null); }
  $("undo").addEventListener("click", undo);
  $("clear").addEventListener("click", clearDrawing);
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "z" && strokes.length) undo();
  });

  // ---- letters: fewest drawings first, never the same twice in a row ----
  // `avoid` is the letter just drawn; a re-pick when the counts arrive may keep the one shown.
  function chooseLetter(avoid) {
    var letters = config.alphabets[alphabet].letters.filter(function (l) { return l !== avoid; });
    // Shuffle first so that ties (every letter while /stats is out of reach) are broken at random.
    for (var i = letters.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1)), swap = letters[i];
      letters[i] = letters[j];
      letters[j] = swap;
    }
    letters.sort(function (a, b) { return (counts[a] || 0) - (counts[b] || 0); });
    // A random pick among the least drawn (ties, or nearly) keeps many participants from all
    // drawing the same letter at once, without ever preferring a well-covered one.
    var least = counts[letters[0]] || 0;
    var pool = letters.filter(function (l) { return (counts[l] || 0) <= least + Math.max(2, least / 50); }).slice(0, 5);
    letter = pool[Math.floor(Math.random() * pool.length)];
    $("prompt-letter").textContent = letter;
    canvas.setAttribute("aria-label", fill(m.draw_area_letter, { letter: letter }));
    if (!showGoal.counted) showGoal();
    showGuess(null);
    speak();
  }

  // The goal of the letter asked for; after Next, for a moment, the goal of the letter just drawn,
  // with the participant's drawing counted in it, so that everyone sees the goal move.
  function showGoal(drawn) {
    clearTimeout(showGoal.timer);
    var shown = drawn || letter, count = counts[shown] || 0;
    showGoal.counted = !!drawn;
    $("goal-text").textContent = fill(m.goal, { letter: shown, count: fmt(count), goal: fmt(goal) }) + (drawn ? " +1 ✓" : "");
    $("goal-text").classList.toggle("counted", !!drawn);
    // While the drawing is shown counted, its "+1" takes the place of the total.
    $("goal-total").textContent = total === null || drawn ? "" : fill(m.goal_total, { total: fmt(total) });
    $("goal-bar").style.width = Math.min(100, 100 * count / goal) + "%";
    if (drawn) showGoal.timer = setTimeout(function () { showGoal(); }, 2400);
  }

  function loadStats() {
    return fetch(config.api + "/stats").then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (stats) {
      goal = stats.goal || goal;
      var a = stats.alphabets && stats.alphabets[alphabet];
      if (a) { counts = a.letters; total = typeof a.total === "number" ? a.total : null; }
    }).catch(function () { /* offline: balance locally */ });
  }

  // ---- game: counter, levels, celebrations ----
  function showGame(celebrate) {
    var n = load("count", 0);
    $("counter").textContent = fmt(n);
    var level = levelOf(n);
    $("level-name").textContent = level ? m.levels[level - 1] : "—";
    var picture = $("level-picture");
    picture.toggleAttribute("hidden", !level);  // an SVG element has no .hidden property
    if (level) {
      $("level-car").setAttribute("href", "#car-" + level);
      picture.setAttribute("aria-label", fill(m.level_picture, { level: m.levels[level - 1] }));
    }
    updateButtons();
    var previous = level ? config.levels[level - 1] : 0;
    var next = config.levels[level];
    var share = next ? (n - previous) / (next - previous) : 1;
    $("level-bar").style.width = Math.round(share * 100) + "%";
    $("level-progress").setAttribute("aria-valuenow", String(Math.round(share * 100)));
    $("level-next").textContent = next ? plural(m.level_left, next - n, { level: m.levels[level] }) : m.max_level;
    // The celebration takes the line under the box, never the box: the pen can go on at once.
    if (celebrate && config.levels.indexOf(n) >= 0) {
      $("reward-text").textContent = m.levelup + " " + m.levels[level - 1];
      $("announce").textContent = m.levelup + " " + m.levels[level - 1];
      $("reward-car").setAttribute("href", "#car-" + level);
      $("reward").hidden = false;
      $("slot").classList.add("celebrating");
      if (navigator.vibrate) { try { navigator.vibrate([60, 40, 120]); } catch (e) { /* not allowed */ } }
      clearTimeout(showGame.timer);
      showGame.timer = setTimeout(hideReward, 2400);
    }
    showQueue();
  }

  function hideReward() {
    clearTimeout(showGame.timer);
    $("reward").hidden = true;
    $("slot").classList.remove("celebrating");
  }

  // The drawing area in CSS pixels, as sent with a drawing: the guess must see the same.
  function canvasSize() {
    var rect = canvas.getBoundingClientRect();
    return { width: Math.round(rect.width * 100) / 100, height: Math.round(rect.height * 100) / 100 };
  }

  // The drawing on the area joins the upload queue and counts; returns the letter it was.
  function takeDrawing() {
    var drawing = {
      id: uuid4(),
      session: session,
      alphabet: alphabet,
      letter: letter,
      strokes: strokes,
      canvas: canvasSize(),
      device: { pointer: ["touch", "pen", "mouse"].indexOf(pointerType) >= 0 ? pointerType : "mouse",
                dpr: Math.min(8, Math.max(0.25, window.devicePixelRatio || 1)) },
      locale: config.lang,
      drawn_at: new Date().toISOString()
    };
    var ageGroup = load("age_group", null);
    if (ageGroup) drawing.age_group = ageGroup;
    enqueue(drawing);
    // The thanks page shows the participant's own letters, drawn again from these strokes.
    save("mine", load("mine", []).concat([{ letter: letter, strokes: strokes, canvas: drawing.canvas }]).slice(-MINE));
    counts[letter] = (counts[letter] || 0) + 1;
    if (total !== null) total += 1;
    save("count", load("count", 0) + 1);
    clearDrawing();
    flush();
    return drawing.letter;
  }

  $("next").addEventListener("click", function () {
    if (!strokes.length) return;
    var drawn = takeDrawing();
    showGoal(drawn);
    chooseLetter(drawn);
    showGame(true);
    // Next is disabled now: the drawing area, named after the new letter, takes the focus.
    canvas.focus({ preventScroll: true });
    if (load("count", 0) % ROUND === 0) showRound();
  });

  // ---- every ten letters: how others drew the same letters ----
  var ROUND = 10;
  var revealDialog = $("reveal-dialog");
  function showRound() {
    if (!config.gallery || !revealDialog.showModal) return;
    var items = load("mine", []).slice(-ROUND);
    $("announce").textContent = m.reveal_ready;
    showReveal($("reveal-grid"), items, function () {
      hideReward();
      if (!revealDialog.open) revealDialog.showModal();
      $("reveal-close").focus();
    });
  }
  $("reveal-close").addEventListener("click", function () { revealDialog.close(); });
  revealDialog.addEventListener("close", function () { canvas.focus({ preventScroll: true }); });

  // ---- what the letter looks like to the letter model ----
  function showGuess(text, guessed) {
    var el = $("guess");
    el.textContent = text || "";
    el.hidden = !text;
    el.setAttribute("data-letter", guessed || "");
    // The licence notice, read before the first stroke, gives way to the guess in its place.
    $("notice").classList.toggle("done", !!text || load("count", 0) > 0);
  }

  var recognizer = null, lastGuess = 0;
  // The sanitizer's letter model, loaded once the page is up: it never delays the first paint.
  function loadRecognizer() {
    var spec = config.recognizer;
    if (!spec || !spec.models[alphabet]) return;
    var script = document.createElement("script");
    script.src = spec.script;
    script.onload = function () {
      window.comnistRecognizer.load(spec.models[alphabet]).then(function () {
        recognizer = window.comnistRecognizer;
        guess();
      }).catch(function () { /* offline or no model: simply no guess */ });
    };
    document.head.appendChild(script);
  }

  function guess() {
    if (!recognizer || !strokes.length) return;
    var size = canvasSize();
    var best = recognizer.classify(strokes, size.width, size.height)[0];
    if (!best) return showGuess(null);
    if (best.letter === recognizer.notALetter) return showGuess(m.guess_unknown, best.letter);
    var sure = best.p >= 0.6 && best.letter === letter;
    showGuess(fill(sure ? m.guess_sure : m.guess_unsure, { letter: best.letter }), best.letter);
  }

  // ---- switching alphabet, finishing ----
  var other = alphabet === "latin" ? "cyrillic" : "latin";
  var switchLink = $("switch-alphabet");
  if (config.alphabets[other]) {
    switchLink.textContent = m.switch_alphabet + m.label_suffix + " " + m["alphabet_" + other];
    switchLink.href = "?alphabet=" + other;
    switchLink.addEventListener("click", function () { save("alphabet:" + config.lang, other); });
  } else {
    switchLink.hidden = true;
  }

  // ---- drawing with a child: a bigger prompt, the letter spoken aloud ----
  var childButton = $("child-mode");
  function speak() {
    if (!window.speechSynthesis || !window.SpeechSynthesisUtterance || !document.body.classList.contains("child")) return;
    var utterance = new SpeechSynthesisUtterance(letter);
    utterance.lang = config.lang;
    speechSynthesis.cancel();
    speechSynthesis.speak(utterance);
  }
  function showChildMode() {
    var on = load("age_group", null) === "child";
    document.body.classList.toggle("child", on);
    childButton.setAttribute("aria-pressed", String(on));
    childButton.textContent = on ? m.child_mode_off : m.child_mode;
    $("child-note").hidden = !on;
    $("speak").hidden = !on;
  }
  childButton.addEventListener("click", function () {
    // Once the mode has been used, leaving it says an adult draws: both are worth knowing.
    save("age_group", load("age_group", null) === "child" ? "adult" : "child");
    showChildMode();
    speak();
  });
  $("prompt-letter").addEventListener("click", speak);
  $("speak").addEventListener("click", speak);
  showChildMode();

  var dialog = $("finish-dialog");
  function goToThanks() { location.href = config.base + "/" + config.lang + "/thanks.html"; }
  $("finish").addEventListener("click", function () {
    // A letter drawn but not yet sent is sent before the form: Finish never drops it.
    if (strokes.length) {
      var drawn = takeDrawing();
      showGoal(drawn);
      chooseLetter(drawn);
      showGame(false);
    }
    if (dialog.showModal) dialog.showModal(); else goToThanks();
  });
  $("back").addEventListener("click", function () { dialog.close(); });
  $("skip").addEventListener("click", goToThanks);
  // A stale complaint must not linger once the participant fixes what it was about.
  $("finish-form").addEventListener("change", function () { $("form-error").textContent = ""; });
  $("finish-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var name = $("name").value.trim(), email = $("email").value.trim();
    var nameConsent = $("name-consent").checked, emailConsent = $("email-consent").checked;
    var error = "";
    if (name && !nameConsent) error = m.error_name_consent;
    else if (email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) error = m.error_email;
    else if (email && !emailConsent) error = m.error_email_consent;
    $("form-error").textContent = error;
    if (error) return;
    var record = { session: session, consent: { thanks_page: !!name && nameConsent, updates: !!email && emailConsent },
                   count: load("count", 0) };
    if (name) record.name = name;
    if (email) record.email = email;
    save("contributor", record);
    // The thanks page keeps sending whatever is left, so leaving now loses nothing.
    var timeout = new Promise(function (resolve) { setTimeout(resolve, 4000); });
    var refused = null;
    var sent = post("/contributors", record).then(function (response) {
      if (retryable(response.status)) return;
      save("contributor", null);
      // A refusal is worth showing: the participant can fix the name or address and send again.
      if (!response.ok) return response.json().then(function (body) { refused = body.error || String(response.status); });
    }).catch(function () { /* offline: the thanks page keeps trying */ });
    Promise.race([sent, timeout]).then(function () {
      if (refused) $("form-error").textContent = refused;
      else goToThanks();
    });
  });

  var badge = $("alphabet-badge");
  badge.textContent = m["alphabet_" + alphabet];
  badge.className = "badge " + alphabet;

  window.addEventListener("resize", resize);
  resize();
  updateButtons();
  showGame(false);
  chooseLetter();
  loadStats().then(function () {
    // Re-pick only if nothing is drawn yet, so a slow answer never swaps the letter under a finger.
    if (!strokes.length) chooseLetter();
    showGoal();
  });
  flush();
  afterFirstPaint(loadRecognizer);

  function afterFirstPaint(callback) {
    var done = false;
    function go() { if (!done) { done = true; setTimeout(callback, 0); } }
    var types = window.PerformanceObserver && PerformanceObserver.supportedEntryTypes;
    if (types && types.indexOf("paint") >= 0) {
      new PerformanceObserver(function (list, observer) {
        if (list.getEntriesByName("first-contentful-paint").length) { observer.disconnect(); go(); }
      }).observe({ type: "paint", buffered: true });
    }
    // A browser that reports no paints (or a hidden tab that never paints) still gets it, later.
    window.addEventListener("load", function () { setTimeout(go, types && types.indexOf("paint") >= 0 ? 3000 : 0); });
  }
})();
