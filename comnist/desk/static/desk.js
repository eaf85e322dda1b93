// The review desk: a letter's flagged drawings, worst first; verdicts by keyboard, mouse or touch.
// Every text shown comes from the server as data and reaches the page through textContent.
"use strict";

(function () {
  const token = document.querySelector('meta[name="desk-token"]').content;
  // The token came in the address; keep it out of the history and of anything copied from the bar.
  history.replaceState(null, "", "/");

  const grid = document.getElementById("grid");
  const lettersBar = document.getElementById("letters");
  const statusLine = document.getElementById("status");
  const undoButton = document.getElementById("undo");
  const moreButton = document.getElementById("more");
  const gridTitle = document.getElementById("grid-title");
  const refitBox = document.getElementById("refit");
  const template = document.getElementById("card-template");

  const state = { letter: null, cards: [], focus: -1, next: null, undo: [], letters: [] };
  let work = Promise.resolve();

  // Actions run one after another, in the order they were asked for, however fast the keys come.
  function queue(action) {
    work = work.then(action).catch((error) => say(String(error.message || error)));
    return work;
  }

  function say(text) {
    statusLine.textContent = text;
  }

  async function api(method, path, body) {
    const options = { method, headers: { "X-Desk-Token": token }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function letterLabel(item) {
    return item.letter + " (" + item.alphabet + ")";
  }

  async function loadLetters() {
    const data = await api("GET", "/api/letters");
    state.letters = data.letters;
    lettersBar.replaceChildren();
    for (const item of data.letters) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = letterLabel(item);
      button.dataset.letter = item.code_point;
      button.dataset.alphabet = item.alphabet;
      button.addEventListener("click", () => queue(() => openLetter(item)));
      lettersBar.append(button);
    }
    if (!data.letters.length) {
      gridTitle.textContent = "Nothing is waiting for review";
      grid.replaceChildren();
      return;
    }
    await openLetter(data.letters[0]);
  }

  async function openLetter(item) {
    state.letter = item;
    for (const button of lettersBar.children) {
      const current = button.dataset.letter === item.code_point && button.dataset.alphabet === item.alphabet;
      button.setAttribute("aria-pressed", current ? "true" : "false");
    }
    gridTitle.textContent = "Flagged drawings of " + letterLabel(item);
    await loadPage("");
  }

  async function loadPage(after) {
    const item = state.letter;
    const query = new URLSearchParams({ alphabet: item.alphabet, code_point: item.code_point, after });
    const data = await api("GET", "/api/page?" + query);
    state.next = data.next;
    moreButton.hidden = !data.next;
    grid.replaceChildren();
    state.cards = data.cards.map(renderCard);
    state.focus = -1;
    say(data.cards.length + " drawings on this page" + (data.next ? "; more follow" : ""));
    moveFocus(0);
  }

  function renderCard(card) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.key = card.key;
    node.dataset.testid = "card";
    node.setAttribute("data-testid", "card");
    node.setAttribute("aria-label", "drawing " + card.id);
    const image = node.querySelector("img");
    image.src = "/drawing/" + card.key;
    image.alt = "drawing of " + card.letter + ", id " + card.id;
    let likeliest = "no letter check";
    if (card.likeliest === "not-a-letter") likeliest = "likeliest: not a letter";
    else if (card.likeliest) likeliest = "likeliest: " + card.likeliest;
    node.querySelector(".letter-line").textContent = card.letter + " · " + likeliest;
    node.querySelector(".score").textContent =
      card.status + (card.score === null ? "" : ", score " + card.score.toFixed(3));
    const reasons = node.querySelector(".reasons");
    for (const reason of card.reasons) {
      const li = document.createElement("li");
      li.textContent = reason;
      reasons.append(li);
    }
    node.querySelector(".id").textContent = card.id;
    const entry = { card, node, verdict: null };
    node.querySelector(".accept").addEventListener("click", () => queue(() => decide(entry, "ok")));
    node.querySelector(".reject").addEventListener("click", () => queue(() => decide(entry, "rejected")));
    node.addEventListener("click", (event) => {
      if (event.target.tagName !== "BUTTON") moveFocus(state.cards.indexOf(entry));
    });
    grid.append(node);
    return entry;
  }

  function moveFocus(index) {
    if (!state.cards.length) return;
    index = Math.max(0, Math.min(index, state.cards.length - 1));
    for (const entry of state.cards) entry.node.classList.remove("focused");
    state.focus = index;
    const node = state.cards[index].node;
    node.classList.add("focused");
    node.focus({ preventScroll: false });
  }

  function showVerdict(entry, verdict) {
    entry.verdict = verdict;
    entry.node.dataset.verdict = verdict || "";
    entry.node.querySelector(".verdict").textContent =
      verdict === "ok" ? "accepted" : verdict === "rejected" ? "rejected" : "";
  }

  async function decide(entry, verdict) {
    await api("POST", "/api/verdict", { key: entry.card.key, verdict });
    showVerdict(entry, verdict);
    state.undo.push(entry);
    undoButton.disabled = false;
    say(entry.card.id + ": " + (verdict === "ok" ? "accepted" : "rejected"));
    refreshRefit();
    await advance(state.cards.indexOf(entry));
  }

  // The next drawing without a verdict after ``index``; past the page's end, the next page.
  async function advance(index) {
    for (let i = index + 1; i < state.cards.length; i++) {
      if (!state.cards[i].verdict) return moveFocus(i);
    }
    if (state.next) return loadPage(state.next);
    if (state.cards.every((entry) => entry.verdict)) say("Every drawing of this letter has a verdict");
    moveFocus(index + 1);
  }

  async function undo() {
    const entry = state.undo.pop();
    undoButton.disabled = !state.undo.length;
    if (!entry) return;
    await api("POST", "/api/undo", { key: entry.card.key });
    if (!state.cards.includes(entry)) {
      // Its page has gone: bring the card back at the front of this one.
      state.cards.unshift(entry);
      grid.prepend(entry.node);
    }
    showVerdict(entry, null);
    say(entry.card.id + ": verdict taken back");
    refreshRefit();
    moveFocus(state.cards.indexOf(entry));
  }

  function current() {
    return state.cards[state.focus];
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    if (event.ctrlKey) {
      if (key === "z") {
        event.preventDefault();
        queue(undo);
      }
      return;
    }
    if (event.target.tagName === "BUTTON" && (key === " " || key === "enter")) return;
    const actions = {
      a: () => current() && decide(current(), "ok"),
      r: () => current() && decide(current(), "rejected"),
      n: () => advanceFrom(),
      arrowright: () => advanceFrom(),
      j: () => advanceFrom(),
      arrowleft: () => moveFocus(state.focus - 1),
      k: () => moveFocus(state.focus - 1),
      u: undo,
    };
    if (actions[key]) {
      event.preventDefault();
      queue(actions[key]);
    }
  });

  function advanceFrom() {
    if (state.focus >= state.cards.length - 1 && state.next) return loadPage(state.next);
    return moveFocus(state.focus + 1);
  }

  undoButton.addEventListener("click", () => queue(undo));
  moreButton.addEventListener("click", () => queue(() => state.next && loadPage(state.next)));

  function percent(value) {
    return (100 * value).toFixed(1) + " %";
  }

  function renderRefit(data) {
    if (!data.judged) {
      refitBox.replaceChildren(paragraph("No verdicts yet."));
      return;
    }
    if (!data.after || !data.after.version) {
      refitBox.replaceChildren(paragraph(data.judged + " verdicts; no refit yet: run comnist refit."));
      return;
    }
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const title of ["Model", "Flagged", "Rejected caught", "Precision", "Recall", "F1"]) {
      const th = document.createElement("th");
      th.textContent = title;
      head.append(th);
    }
    const body = table.createTBody();
    for (const [label, figures] of [["before", data.before], ["after", data.after]]) {
      const row = body.insertRow();
      const cells = [label + ": " + figures.version];
      if (figures.f1 === undefined) cells.push("-", "-", "-", "-", "-");
      else cells.push(figures.flagged, figures.caught + " of " + data.rejected,
        percent(figures.precision), percent(figures.recall), percent(figures.f1));
      for (const value of cells) row.insertCell().textContent = String(value);
    }
    const note = paragraph(
      data.judged + " judged drawings, " + data.rejected + " rejected. " +
      ((data.after.letters_by_f1 || []).length) + " of " + (data.after.letters_fitted || 0) +
      " letters have their ε chosen by F1 on your verdicts" +
      (data.state === "computing" ? " (updating…)" : ".")
    );
    refitBox.replaceChildren(table, note);
  }

  function paragraph(text) {
    const p = document.createElement("p");
    p.textContent = text;
    return p;
  }

  let refitTimer = null;
  function refreshRefit() {
    clearTimeout(refitTimer);
    refitTimer = setTimeout(async () => {
      try {
        const data = await api("GET", "/api/refit");
        renderRefit(data);
        if (data.state === "computing") refreshRefit();
      } catch (error) {
        refitBox.replaceChildren(paragraph(String(error.message || error)));
      }
    }, 1500);
  }

  queue(loadLetters);
  refreshRefit();
})();
