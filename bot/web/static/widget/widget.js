/*
 * Jobcenter-assistenten: the chat widget for a municipal website.
 *
 * Embed with one tag (the API origin is taken from the script's own src):
 *   <script src="https://<assistant>/static/widget/widget.js"
 *           data-municipality="gladsaxe" data-audience="borger" defer></script>
 *
 * Plain JavaScript, no build step, nothing loaded from other origins.
 * Message content is only ever put on the page with textContent or as text
 * nodes, never with innerHTML, so a message cannot inject markup.
 */
(function () {
  "use strict";

  // Loaded twice on one page? Keep the first widget.
  if (window.__jobcenterAssistent) return;
  window.__jobcenterAssistent = true;

  var script = document.currentScript || document.querySelector('script[src*="/widget/widget.js"]');
  if (!script) return;

  var API_ORIGIN = new URL(script.src, location.href).origin;
  var CSS_URL = new URL("widget.css", script.src).href;
  var MUNICIPALITY = script.dataset.municipality || "";
  var AUDIENCE = script.dataset.audience || "";
  // A question to type into the chat for the user (the insights page's "Prøv i chatten").
  var ASK = script.dataset.ask || "";
  var STORAGE_KEY = "jobcenter-assistent:" + (MUNICIPALITY || "-") + ":" + (AUDIENCE || "-");
  var SENDER_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
  var MAX_HISTORY = 200;
  var REQUEST_TIMEOUT_MS = 60000;
  var STREAM_RETRY_MS = 5000;

  var TEXT = {
    launcher: "Chat med os",
    newMessage: "ny besked",
    title: "Jobcenter-assistenten",
    subtitle: "Automatisk assistent – ikke et menneske",
    close: "Luk",
    closeLabel: "Luk chatten",
    human: "Tal med en medarbejder",
    restart: "Start forfra",
    privacySummary: "Om dine oplysninger",
    log: "Samtale",
    inputLabel: "Skriv din besked",
    send: "Send",
    hint: "Skriv aldrig dit CPR-nummer. Tryk Enter for at sende og Skift+Enter for en ny linje.",
    you: "Du",
    assistant: "Assistenten",
    jobcenter: "Jobcenteret",
    typing: "Assistenten skriver",
    sending: "Sender",
    delivered: "Leveret",
    choices: "Svarmuligheder",
    warning: "Bemærk:",
    citation: "Kilde:",
    newTab: " (åbner i en ny fane)",
    notSent: "Beskeden blev ikke sendt.",
    offline: "Der er ingen forbindelse til assistenten. Tjek din internetforbindelse, og prøv igen.",
    unknownError: "Der opstod en fejl. Prøv igen om lidt.",
    timeout: "Assistenten svarede ikke i tide. Prøv igen om lidt.",
    restartWhileClaimed: "Du skriver med en medarbejder. Du kan starte forfra, når samtalen er afsluttet.",
    closed: "Chatten er lukket lige nu",
    commentLabel: "Hvad manglede i svaret? (frivilligt)",
    commentSend: "Send kommentar",
    commentSkip: "Spring over",
    commentSkipped: "Du sprang kommentaren over.",
  };

  var GREETING = {
    borger:
      "Hej! Jeg er Jobcenter-assistenten. Jeg er en automatisk assistent, ikke et menneske.\n" +
      "Jeg kan svare på spørgsmål om job, fleksjob, løntilskud, praktik, hjælp ved handicap " +
      "og dine rettigheder og pligter. Skriv dit spørgsmål med dine egne ord.",
    virksomhed:
      "Hej! Jeg er Jobcenter-assistenten. Jeg er en automatisk assistent, ikke et menneske.\n" +
      "Jeg kan svare på spørgsmål om at finde nye medarbejdere, løntilskud, virksomhedspraktik " +
      "og fleksjob. Skriv dit spørgsmål med dine egne ord.",
  };

  function privacyText(retentionDays) {
    var deletion = retentionDays
      ? [
          "Samtalen med assistenten bliver slettet, når du ikke har skrevet i " + retentionDays + " dage.",
          "Taler du med en medarbejder, bliver sagen slettet " + retentionDays + " dage efter, at den er lukket.",
        ]
      : ["Samtalen og en eventuel sag hos en medarbejder bliver slettet efter en fast periode."];
    return [
      "Vi gemmer samtalen, så assistenten kan svare dig, og så en medarbejder kan hjælpe dig, hvis du beder om det.",
    ].concat(deletion, [
      "Samtalen gemmes også i din browser, indtil du lukker fanen.",
      "Skriv aldrig dit CPR-nummer.",
    ]);
  }

  /* ------------------------------------------------------------------ */
  /* State kept in sessionStorage, so a reload loses nothing.           */
  /* ------------------------------------------------------------------ */

  function newSender() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return (
      "w-" +
      Array.prototype.map
        .call(bytes, function (b) {
          return b.toString(16).padStart(2, "0");
        })
        .join("")
    );
  }

  function freshState() {
    return { sender: newSender(), history: [], lastOutboxId: 0, open: false, handoffActive: false, draft: "" };
  }

  function loadState() {
    try {
      var stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
      if (stored && SENDER_PATTERN.test(stored.sender) && Array.isArray(stored.history)) {
        return Object.assign(freshState(), stored);
      }
    } catch (err) {
      // Storage blocked or corrupt: start a new conversation.
    }
    return freshState();
  }

  function saveState() {
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (err) {
      // Storage full or blocked: the chat still works, it just will not survive a reload.
    }
  }

  var state = loadState();
  var busy = false;
  var stream = null;
  var handoff = null; // the latest HandoffState from the server, or null
  var nextEntryId = 1;
  state.history.forEach(function (entry) {
    nextEntryId = Math.max(nextEntryId, (entry.id || 0) + 1);
  });

  /* ------------------------------------------------------------------ */
  /* DOM helpers. Text only ever enters the page as text nodes.         */
  /* ------------------------------------------------------------------ */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.append(child);
    });
    return node;
  }

  // Full URLs, and bare domains with a common top-level domain (borger.dk).
  var LINK_PATTERN =
    /https?:\/\/[^\s<>"«»]+|(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:dk|com|org|net|eu|info|nu)\b(?:\/[^\s<>"«»]*)?/gi;
  var TRAILING_PUNCTUATION = /[.,;:!?)»"']+$/;
  // A domain right after one of these is part of an e-mail address or a longer word.
  var NOT_A_LINK_START = /[@\w.\-/]/;

  function safeHref(candidate) {
    try {
      var url = new URL(/^https?:\/\//i.test(candidate) ? candidate : "https://" + candidate);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  function link(label, href) {
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, [
      label,
      el("span", { class: "jca-vh", text: TEXT.newTab }),
    ]);
  }

  /** Append one line of text, with its URLs and domains as safe links. */
  function appendLinkified(parent, line) {
    var last = 0;
    LINK_PATTERN.lastIndex = 0;
    var match;
    while ((match = LINK_PATTERN.exec(line)) !== null) {
      var found = match[0].replace(TRAILING_PUNCTUATION, "");
      var before = match.index > 0 ? line.charAt(match.index - 1) : "";
      var href = before && NOT_A_LINK_START.test(before) ? null : safeHref(found);
      if (!href) continue;
      parent.append(line.slice(last, match.index), link(found, href));
      last = match.index + found.length;
      LINK_PATTERN.lastIndex = last;
    }
    parent.append(line.slice(last));
  }

  /** Append text with its single newlines as line breaks. */
  function appendText(parent, text, linkify) {
    String(text)
      .split("\n")
      .forEach(function (line, index) {
        if (index > 0) parent.append(el("br"));
        if (linkify) appendLinkified(parent, line);
        else parent.append(line);
      });
    return parent;
  }

  function paragraph(className, text) {
    return appendText(el("p", { class: className }), text, true);
  }

  function formatTime(iso) {
    var date = new Date(iso);
    return date.toLocaleTimeString("da-DK", { hour: "2-digit", minute: "2-digit" });
  }

  /* ------------------------------------------------------------------ */
  /* The widget's elements.                                             */
  /* ------------------------------------------------------------------ */

  var ui = {};

  function buildUi() {
    ui.launcherBadge = el("span", { class: "jca-launcher-badge" });
    ui.launcher = el(
      "button",
      { type: "button", class: "jca-launcher", "aria-expanded": "false", "aria-controls": "jca-panel" },
      [el("span", { class: "jca-launcher-icon", "aria-hidden": "true" }), TEXT.launcher, ui.launcherBadge]
    );
    ui.close = el("button", { type: "button", class: "jca-close", "aria-label": TEXT.closeLabel }, [
      el("span", { class: "jca-close-icon", "aria-hidden": "true", text: "×" }),
      TEXT.close,
    ]);
    ui.human = el("button", { type: "button", class: "jca-action", text: TEXT.human });
    ui.restart = el("button", { type: "button", class: "jca-action", text: TEXT.restart });
    ui.privacy = el("div", { class: "jca-privacy-text" });
    ui.log = el("div", {
      class: "jca-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": TEXT.log,
      // Focusable so keyboard users can scroll a long conversation.
      tabindex: "0",
    });
    ui.typing = el("p", { class: "jca-typing", role: "status" });
    ui.queue = el("p", { class: "jca-queue", "aria-live": "polite" });
    ui.input = el("textarea", {
      id: "jca-input",
      class: "jca-input",
      rows: "2",
      autocomplete: "off",
      "aria-describedby": "jca-hint",
    });
    ui.send = el("button", { type: "submit", class: "jca-send", text: TEXT.send });
    ui.form = el("form", { class: "jca-form", novalidate: true }, [
      el("label", { class: "jca-label", for: "jca-input", text: TEXT.inputLabel }),
      el("div", { class: "jca-input-row" }, [ui.input, ui.send]),
      el("p", { class: "jca-hint", id: "jca-hint", text: TEXT.hint }),
    ]);
    ui.panel = el(
      "section",
      {
        id: "jca-panel",
        class: "jca-panel",
        role: "dialog",
        "aria-modal": "false",
        "aria-labelledby": "jca-title",
        "aria-describedby": "jca-subtitle",
        hidden: true,
      },
      [
        el("header", { class: "jca-header" }, [
          el("div", { class: "jca-heading" }, [
            el("h2", { class: "jca-title", id: "jca-title", text: TEXT.title }),
            el("p", { class: "jca-subtitle", id: "jca-subtitle", text: TEXT.subtitle }),
          ]),
          ui.close,
        ]),
        el("div", { class: "jca-actions" }, [ui.human, ui.restart]),
        el("details", { class: "jca-privacy" }, [el("summary", { text: TEXT.privacySummary }), ui.privacy]),
        ui.log,
        el("div", { class: "jca-footer" }, [ui.typing, ui.queue, ui.form]),
      ]
    );
    ui.root = el("aside", { class: "jca", lang: "da", "aria-label": "Chat med " + TEXT.title }, [
      ui.launcher,
      ui.panel,
    ]);
    showPrivacy(null);
  }

  function showPrivacy(retentionDays) {
    ui.privacy.replaceChildren.apply(
      ui.privacy,
      privacyText(retentionDays).map(function (line) {
        return el("p", { text: line });
      })
    );
  }

  /* ------------------------------------------------------------------ */
  /* Rendering conversation entries.                                    */
  /* ------------------------------------------------------------------ */

  // Entry roles: user, bot, caseworker, system (handoff status from the outbox).
  function whoLabel(entry) {
    if (entry.role === "user") return TEXT.you;
    if (entry.role === "system") return TEXT.jobcenter;
    if (entry.role === "caseworker" && entry.caseworker) {
      return entry.caseworker.first_name + ", " + entry.caseworker.role;
    }
    return TEXT.assistant;
  }

  function warningBlock(text) {
    var block = el("div", { class: "jca-warning", role: "note" }, [
      el("strong", { class: "jca-warning-label", text: TEXT.warning }),
      " ",
    ]);
    return appendText(block, text, true);
  }

  function citationBlock(text) {
    var body = String(text).replace(/^Kilde:\s*/, "");
    var block = el("div", { class: "jca-citation", role: "group", "aria-label": "Kilde" }, [
      el("strong", { class: "jca-citation-label", text: TEXT.citation }),
      " ",
    ]);
    return appendText(block, body, true);
  }

  /** The bubble's content: an answer's parts when present, else its text. */
  function bubbleContent(entry) {
    var parts = entry.parts;
    if (entry.role === "user") return [appendText(el("p", { class: "jca-text" }), entry.text, false)];
    if (entry.closed) {
      return [el("p", {}, [el("strong", { text: TEXT.closed })]), paragraph("jca-text", entry.text || "")];
    }
    if (!parts || !parts.body) return [paragraph("jca-text", entry.text || "")];
    return [
      paragraph("jca-text", parts.body),
      parts.scope ? paragraph("jca-small", parts.scope) : null,
      parts.hint ? paragraph("jca-small", parts.hint) : null,
      parts.warning ? warningBlock(parts.warning) : null,
      parts.citation ? citationBlock(parts.citation) : null,
    ];
  }

  function choiceGroup(entry) {
    var group = el("div", { class: "jca-choices", role: "group", "aria-label": TEXT.choices });
    entry.buttons.forEach(function (button) {
      var node = el("button", { type: "button", class: "jca-choice", text: button.title });
      node.addEventListener("click", function () {
        choose(button);
      });
      group.append(node);
    });
    return group;
  }

  /** After a "nej": an optional short comment, sent to POST /api/feedback. */
  function commentForm(entry) {
    if (entry.comment !== "open") return entry.comment ? el("p", { class: "jca-status", text: entry.comment }) : null;
    var id = "jca-comment-" + entry.id;
    var box = el("textarea", { id: id, class: "jca-input jca-comment-input", rows: "2", maxlength: "500" });
    var send = el("button", { type: "submit", class: "jca-choice", text: TEXT.commentSend });
    var skip = el("button", { type: "button", class: "jca-choice", text: TEXT.commentSkip });
    var form = el("form", { class: "jca-comment", novalidate: true }, [
      el("label", { class: "jca-label", for: id, text: TEXT.commentLabel }),
      box,
      el("div", { class: "jca-choices" }, [send, skip]),
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      sendComment(entry, box.value);
    });
    skip.addEventListener("click", function () {
      closeComment(entry, TEXT.commentSkipped);
    });
    return form;
  }

  function closeComment(entry, text) {
    entry.comment = text;
    rerender(entry);
    ui.input.focus();
  }

  async function sendComment(entry, text) {
    if (!text.trim()) return;
    try {
      var response = await fetch(API_ORIGIN + "/api/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ sender: state.sender, comment: text }),
      });
      if (response.ok) closeComment(entry, (await response.json()).text);
      else showError(await errorMessage(response), TEXT.notSent);
    } catch (err) {
      showError(TEXT.offline, TEXT.notSent);
    }
  }

  function renderEntry(entry) {
    var classes = "jca-msg jca-msg--" + entry.role + (entry.closed ? " jca-msg--closed" : "");
    return el("div", { class: classes, "data-entry": String(entry.id) }, [
      el("p", { class: "jca-meta" }, [
        el("span", { class: "jca-who", text: whoLabel(entry) }),
        " ",
        el("time", { datetime: entry.time, text: formatTime(entry.time) }),
      ]),
      el("div", { class: "jca-bubble", lang: entry.lang || null }, bubbleContent(entry)),
      entry.buttons && entry.buttons.length ? choiceGroup(entry) : null,
      entry.comment ? commentForm(entry) : null,
      entry.delivered ? el("p", { class: "jca-status", text: TEXT.delivered }) : null,
    ]);
  }

  function entryNode(entry) {
    return ui.log.querySelector('[data-entry="' + entry.id + '"]');
  }

  function addEntry(entry) {
    entry.id = nextEntryId++;
    entry.time = entry.time || new Date().toISOString();
    state.history.push(entry);
    ui.log.append(renderEntry(entry));
    while (state.history.length > MAX_HISTORY) {
      var dropped = state.history.shift();
      var old = entryNode(dropped);
      if (old) old.remove();
    }
    saveState();
    return entry;
  }

  function removeEntry(entry) {
    state.history = state.history.filter(function (e) {
      return e !== entry;
    });
    var node = entryNode(entry);
    if (node) node.remove();
    saveState();
  }

  function rerender(entry) {
    var node = entryNode(entry);
    if (node) node.replaceWith(renderEntry(entry));
    saveState();
  }

  /** Reply buttons and a comment box only make sense until the user answers: drop older ones. */
  function dropChoices() {
    state.history.forEach(function (entry) {
      if (entry.comment === "open") {
        entry.comment = null;
        var box = entryNode(entry) && entryNode(entry).querySelector(".jca-comment");
        if (box) box.remove();
      }
      if (entry.buttons) {
        delete entry.buttons;
        var node = entryNode(entry);
        var group = node && node.querySelector(".jca-choices");
        if (group) group.remove();
      }
    });
  }

  function renderHistory() {
    ui.log.replaceChildren();
    state.history.forEach(function (entry) {
      ui.log.append(renderEntry(entry));
    });
  }

  function addGreeting() {
    addEntry({ role: "bot", text: GREETING[AUDIENCE] || GREETING.borger });
  }

  /**
   * What scrolls: normally the message list; on short windows the whole
   * panel scrolls, with the input pinned at the bottom (see widget.css).
   */
  function panelScrolls() {
    return getComputedStyle(ui.panel).overflowY === "auto";
  }

  /** Show the start of a new reply; a long answer must not scroll out of sight. */
  function scrollToEntry(entry) {
    var node = entry && entryNode(entry);
    if (!node) return;
    if (panelScrolls()) ui.panel.scrollTop = Math.max(0, ui.log.offsetTop + node.offsetTop - 8);
    else ui.log.scrollTop = Math.max(0, node.offsetTop - 8);
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
    if (panelScrolls()) ui.panel.scrollTop = ui.panel.scrollHeight;
  }

  /* ------------------------------------------------------------------ */
  /* Status lines: typing, queue, errors.                               */
  /* ------------------------------------------------------------------ */

  function setBusy(value) {
    busy = value;
    ui.send.setAttribute("aria-disabled", value ? "true" : "false");
    ui.panel.classList.toggle("jca-busy", value);
    if (!value) {
      ui.typing.replaceChildren();
      return;
    }
    var claimed = handoff && handoff.status === "claimed" && handoff.channel === "chat";
    ui.typing.replaceChildren(
      claimed ? TEXT.sending : TEXT.typing,
      el("span", { class: "jca-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
      el("span", { class: "jca-vh", text: " …" })
    );
  }

  /** A Danish notice in the chat, e.g. why a message was not sent. */
  function showError(message, prefix) {
    clearError();
    var notice = el("div", { class: "jca-notice", id: "jca-error" }, [
      prefix ? el("strong", { text: prefix }) : null,
      prefix ? " " : null,
    ]);
    appendText(notice, message, true);
    ui.log.append(notice);
    ui.input.setAttribute("aria-invalid", "true");
    ui.input.setAttribute("aria-describedby", "jca-hint jca-error");
    scrollToEnd();
  }

  function clearError() {
    ui.log.querySelectorAll(".jca-notice").forEach(function (notice) {
      notice.remove();
    });
    ui.input.removeAttribute("aria-invalid");
    ui.input.setAttribute("aria-describedby", "jca-hint");
  }

  function queueText(current) {
    if (!current) return "";
    var worker = current.caseworker;
    if (current.channel === "callback") {
      return current.status === "claimed" && worker
        ? worker.first_name + ", " + worker.role + ", har din henvendelse og kontakter dig."
        : "Du har bedt om at blive kontaktet. En medarbejder kontakter dig.";
    }
    if (current.status === "claimed" && worker) return "Du chatter med " + worker.first_name + ", " + worker.role + ".";
    if (current.position) return "Du er nummer " + current.position + " i køen.";
    return "Du er i kø til en medarbejder.";
  }

  function showHandoff(current) {
    handoff = current;
    var text = queueText(current);
    if (ui.queue.textContent !== text) ui.queue.textContent = text;
    ui.queue.classList.toggle("jca-queue--shown", Boolean(text));
  }

  /* ------------------------------------------------------------------ */
  /* Talking to the chat API.                                           */
  /* ------------------------------------------------------------------ */

  function metadata() {
    var data = { language: "da" };
    if (MUNICIPALITY) data.municipality = MUNICIPALITY;
    if (AUDIENCE) data.audience = AUDIENCE;
    return data;
  }

  async function postChat(message) {
    var controller = new AbortController();
    var timer = setTimeout(function () {
      controller.abort();
    }, REQUEST_TIMEOUT_MS);
    try {
      return await fetch(API_ORIGIN + "/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ sender: state.sender, message: message, metadata: metadata() }),
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The Danish `detail` of a 422 or 503, never a raw error. */
  async function errorMessage(response) {
    try {
      var body = await response.json();
      if (body && typeof body.detail === "string" && body.detail) return body.detail;
    } catch (err) {
      // Not JSON (a proxy's error page, say): fall through to the general text.
    }
    return TEXT.unknownError;
  }

  function botEntry(message) {
    var custom = message.custom || {};
    return {
      role: "bot",
      text: message.text || "",
      parts: custom.parts || null,
      buttons: message.buttons || null,
      closed: custom.kind === "closed",
      comment: custom.invite_comment ? "open" : null,
      // A message in another language than the page's (the English notice) says so to screen readers.
      lang: typeof custom.language === "string" ? custom.language : null,
    };
  }

  /** Show one turn's bot messages; returns the first entry added. */
  function showTurn(messages, userEntry) {
    var first = null;
    messages.forEach(function (message) {
      var custom = message.custom || {};
      if (custom.delivered) {
        // A live chat with a caseworker: the message went to them, the bot says nothing.
        if (userEntry) {
          userEntry.delivered = true;
          rerender(userEntry);
        }
        followHandoff(false);
        return;
      }
      if (custom.handoff === "chat" || custom.handoff === "callback") followHandoff(false);
      if (!message.text && !custom.parts && !(message.buttons && message.buttons.length)) return;
      var entry = addEntry(botEntry(message));
      first = first || entry;
    });
    return first;
  }

  /**
   * Send a message. `shown` is what the user's bubble says (a button's title
   * instead of its payload); null shows no bubble (restart).
   * Returns true when the server took the message.
   */
  async function send(message, shown) {
    if (busy) return false;
    clearError();
    var userEntry = shown ? addEntry({ role: "user", text: shown }) : null;
    scrollToEnd();
    setBusy(true);
    try {
      var response = await postChat(message);
      if (!response.ok) {
        fail(await errorMessage(response), userEntry);
        return false;
      }
      var messages = await response.json();
      dropChoices();
      var first = showTurn(Array.isArray(messages) ? messages : [], userEntry);
      if (first) scrollToEntry(userEntry || first);
      return true;
    } catch (err) {
      fail(err && err.name === "AbortError" ? TEXT.timeout : TEXT.offline, userEntry);
      return false;
    } finally {
      setBusy(false);
      saveState();
    }
  }

  function fail(message, userEntry) {
    if (userEntry) removeEntry(userEntry);
    showError(message, TEXT.notSent);
  }

  async function submitInput() {
    var text = ui.input.value;
    if (!text.trim() || busy) return;
    ui.input.value = "";
    state.draft = "";
    var sent = await send(text, text.trim());
    if (!sent) {
      // Give the text back, in front of anything typed while we waited.
      ui.input.value = ui.input.value ? text + "\n" + ui.input.value : text;
      state.draft = ui.input.value;
      saveState();
    }
  }

  function choose(button) {
    if (busy) return;
    send(button.payload, button.title);
    ui.input.focus();
  }

  function requestHuman() {
    send("/request_human", TEXT.human);
    ui.input.focus();
  }

  function restart() {
    if (busy) return;
    if (handoff && handoff.status === "claimed" && handoff.channel === "chat") {
      showError(TEXT.restartWhileClaimed, null);
      ui.input.focus();
      return;
    }
    state.history = [];
    ui.log.replaceChildren();
    clearError();
    addGreeting();
    send("/restart", null);
    ui.input.focus();
  }

  /* ------------------------------------------------------------------ */
  /* Caseworker messages and handoff state: Server-Sent Events.          */
  /* ------------------------------------------------------------------ */

  function outboxEntry(item) {
    var custom = item.custom || {};
    if (custom.author === "caseworker") {
      return { role: "caseworker", text: item.text || "", caseworker: custom.caseworker || null };
    }
    if (custom.kind === "handoff" && custom.status) return { role: "system", text: item.text || "" };
    return botEntry(item);
  }

  function onOutboxMessage(item) {
    if (!item || typeof item.id !== "number" || item.id <= state.lastOutboxId) return;
    state.lastOutboxId = item.id;
    if (item.text || (item.buttons && item.buttons.length)) {
      addEntry(outboxEntry(item));
      scrollToEnd();
      if (!state.open) ui.launcherBadge.textContent = " – " + TEXT.newMessage;
    }
    saveState();
  }

  function closeStream() {
    if (stream) stream.close();
    stream = null;
  }

  function parseData(event) {
    try {
      return JSON.parse(event.data);
    } catch (err) {
      return undefined;
    }
  }

  /**
   * Listen for caseworker messages while a handoff is open. `resumed` is true
   * after a reload: then a `null` state means the case ended while we were away.
   */
  function followHandoff(resumed) {
    state.handoffActive = true;
    saveState();
    if (stream || !window.EventSource) return;
    var url = API_ORIGIN + "/api/chat/" + encodeURIComponent(state.sender) + "/events?after=" + state.lastOutboxId;
    var source = new EventSource(url);
    var sawCase = false;
    stream = source;
    source.addEventListener("message", function (event) {
      onOutboxMessage(parseData(event));
    });
    source.addEventListener("handoff", function (event) {
      var current = parseData(event);
      if (current === undefined) return;
      showHandoff(current);
      if (current) {
        sawCase = true;
      } else if (sawCase || resumed) {
        // The case is over: stop listening until the next handoff.
        state.handoffActive = false;
        saveState();
        closeStream();
      }
    });
    source.addEventListener("error", function () {
      // EventSource reconnects by itself (with Last-Event-ID) unless the
      // server refused the stream; then try again a little later.
      if (source.readyState === EventSource.CLOSED && stream === source) {
        stream = null;
        setTimeout(function () {
          if (state.handoffActive) followHandoff(true);
        }, STREAM_RETRY_MS);
      }
    });
  }

  /* ------------------------------------------------------------------ */
  /* Opening, closing and keyboard use.                                 */
  /* ------------------------------------------------------------------ */

  function openPanel(moveFocus) {
    ui.panel.hidden = false;
    ui.launcher.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcherBadge.textContent = "";
    state.open = true;
    if (!state.history.length) addGreeting();
    saveState();
    scrollToEnd();
    if (moveFocus) ui.input.focus();
  }

  function closePanel() {
    ui.panel.hidden = true;
    ui.launcher.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    saveState();
    ui.launcher.focus();
  }

  function onInputKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitInput();
    }
  }

  function bindEvents() {
    ui.launcher.addEventListener("click", function () {
      openPanel(true);
    });
    ui.close.addEventListener("click", closePanel);
    ui.human.addEventListener("click", requestHuman);
    ui.restart.addEventListener("click", restart);
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closePanel();
      }
    });
    ui.input.addEventListener("keydown", onInputKey);
    ui.input.addEventListener("input", function () {
      state.draft = ui.input.value;
      saveState();
    });
    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitInput();
      ui.input.focus();
    });
  }

  function loadConfig() {
    fetch(API_ORIGIN + "/api/widget-config", { headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (config) {
        if (config && Number.isInteger(config.retention_days)) showPrivacy(config.retention_days);
      })
      .catch(function () {
        // Keep the notice without the number of days.
      });
  }

  function start() {
    if (!document.body) {
      // Embedded without `defer` in <head>: wait for the page.
      document.addEventListener("DOMContentLoaded", start, { once: true });
      return;
    }
    buildUi();
    renderHistory();
    ui.input.value = state.draft || "";
    bindEvents();
    document.body.append(ui.root);
    if (state.open) openPanel(false);
    if (state.handoffActive) followHandoff(true);
    loadConfig();
    if (ASK) {
      openPanel(true);
      ui.input.value = ASK;
    }
  }

  // Show the widget once its stylesheet is in, so it never flashes unstyled.
  var stylesheet = el("link", { rel: "stylesheet", href: CSS_URL });
  stylesheet.addEventListener("load", start, { once: true });
  stylesheet.addEventListener("error", start, { once: true });
  document.head.append(stylesheet);
})();
