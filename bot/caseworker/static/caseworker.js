// Light live updates for the caseworker app: new thread entries on the case
// page (every 2 s), new cases in the inbox (every 5 s), canned replies.
"use strict";

// Bot texts already in the thread: a repeat is folded into <details>.
const seenBotTexts = new Set();

function scrolledToEnd(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

function threadItem(message) {
  const li = document.createElement("li");
  li.className = "msg msg-" + message.author;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = message.author_label + (message.caseworker ? " (" + message.caseworker + ")" : "");
  const time = document.createElement("time");
  time.dateTime = message.at;
  time.textContent = new Date(message.at).toLocaleTimeString("da-DK", { hour: "2-digit", minute: "2-digit" });
  const text = document.createElement("p");
  text.textContent = message.text;
  li.append(who, " ", time, folded(message, text));
  return li;
}

function folded(message, text) {
  if (message.author !== "bot") return text;
  if (!seenBotTexts.has(message.text)) {
    seenBotTexts.add(message.text);
    return text;
  }
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = "Samme svar som tidligere";
  details.append(summary, text);
  return details;
}

async function pollThread(thread) {
  const caseId = thread.dataset.caseId;
  try {
    const response = await fetch(`/caseworker/api/cases/${caseId}/thread?after=${thread.dataset.lastId}`,
                                 { credentials: "same-origin" });
    if (response.ok) {
      const data = await response.json();
      const follow = scrolledToEnd(thread);
      for (const message of data.messages) {
        thread.append(threadItem(message));
        thread.dataset.lastId = message.id;
      }
      if (follow) thread.scrollTop = thread.scrollHeight;
    }
  } finally {
    setTimeout(() => pollThread(thread), 2000);
  }
}

async function pollInbox(marker) {
  try {
    const response = await fetch("/caseworker/api/inbox", { credentials: "same-origin" });
    if (response.ok) {
      const data = await response.json();
      const before = Number(marker.dataset.count);
      if (data.cases.length !== before) {
        document.getElementById("inbox-status").textContent =
          data.cases.length > before ? "Der er kommet en ny sag. Siden opdateres." : "Indbakken er ændret.";
        setTimeout(() => window.location.reload(), 1500);
        return;
      }
    }
  } catch (error) { /* offline for a moment: try again */ }
  setTimeout(() => pollInbox(marker), 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  const thread = document.getElementById("thread");
  if (thread) {
    for (const li of thread.querySelectorAll(".msg-bot p")) seenBotTexts.add(li.textContent);
    thread.scrollTop = thread.scrollHeight;
    setTimeout(() => pollThread(thread), 2000);
  }
  const inbox = document.querySelector("[data-inbox]");
  if (inbox) setTimeout(() => pollInbox(inbox), 5000);
  for (const select of document.querySelectorAll("select[data-canned-target]")) {
    select.addEventListener("change", () => {
      const target = document.getElementById(select.dataset.cannedTarget);
      if (select.value) { target.value = select.value; target.focus(); }
    });
  }
});
