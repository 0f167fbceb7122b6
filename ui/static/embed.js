// The compact chat shown inside the widget's iframe. It talks to /api/v1/ask/stream on its own
// origin. Everything from the server is rendered with textContent: article text is never HTML here.
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var pageUrl = params.get("page_url") || "";
  var pageTitle = params.get("page_title") || "";
  // A read key may come in the fragment (never sent to servers or logged); drop it from the URL.
  var key = new URLSearchParams(location.hash.slice(1)).get("key") || "";
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);

  var history_ = [];
  var chat, form, input, send;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  // A web address links to itself; a file path, an upload or pasted text (no address) links to the
  // article's text as the API serves it (relative: works behind a proxy prefix too).
  function sourceHref(source) {
    if (/^https?:\/\//i.test(source.url || "")) {
      try { return new URL(source.url).href; } catch (e) { return ""; }
    }
    return source.article_id ? "api/v1/articles/" + encodeURIComponent(source.article_id) + "/text" : "";
  }

  function scrollDown() { chat.scrollTop = chat.scrollHeight; }

  function renderSources(box, sources) {
    if (!sources || !sources.length) return;
    var list = el("ol", "sources");
    sources.forEach(function (s) {
      var item = el("li");
      item.value = s.n;
      var href = sourceHref(s);
      var title = href ? el("a", "", s.title || s.url) : el("span", "", s.title);
      if (href) { title.href = href; title.target = "_blank"; title.rel = "noopener noreferrer"; }
      item.appendChild(title);
      item.appendChild(el("q", "", s.quote));
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function renderDone(box, text, data) {
    text.textContent = data.answer;
    if (data.note) box.appendChild(el("span", "note", data.note));
    renderSources(box, data.sources);
    box.dataset.state = data.abstained ? "abstained" : "answered";
  }

  function renderError(box, text, err) {
    box.classList.add("error");
    var e = (err && err.error) || {};
    text.textContent = (e.message || "The request failed.") + (e.hint ? " " + e.hint : "");
    box.dataset.state = "error";
  }

  function parseEvent(block) {
    var event = "message", data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) event = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    return { event: event, data: data.length ? JSON.parse(data.join("\n")) : null };
  }

  async function readStream(response, box, text) {
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "", result = null;
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      var blocks = buffer.split("\n\n");
      buffer = blocks.pop();
      blocks.forEach(function (block) {
        if (!block.trim()) return;
        var ev = parseEvent(block);
        if (ev.event === "token") { text.textContent += ev.data; scrollDown(); }
        else if (ev.event === "done") { result = ev.data; renderDone(box, text, ev.data); }
        else if (ev.event === "error") renderError(box, text, ev.data);
      });
    }
    return result;
  }

  async function ask(question) {
    chat.appendChild(el("div", "msg user", question));
    var box = el("div", "msg bot"), text = el("span", "text");
    box.dataset.state = "pending";
    box.appendChild(text);
    chat.appendChild(box);
    scrollDown();
    var headers = { "Content-Type": "application/json", "Accept": "text/event-stream" };
    if (key) headers.Authorization = "Bearer " + key;
    var body = { question: question, history: history_.slice(-8) };
    if (pageUrl) body.page_url = pageUrl;
    try {
      var response = await fetch("api/v1/ask/stream", {  // relative: works behind a proxy prefix too
        method: "POST", headers: headers, body: JSON.stringify(body), credentials: "omit"
      });
      if (!response.ok) {
        renderError(box, text, await response.json().catch(function () { return null; }));
        return;
      }
      var result = await readStream(response, box, text);
      if (result) {
        history_.push({ role: "user", content: question }, { role: "assistant", content: result.answer });
      }
    } catch (err) {
      renderError(box, text, { error: { message: "Could not reach the server." } });
    }
    scrollDown();
  }

  document.addEventListener("DOMContentLoaded", function () {
    chat = document.getElementById("chat");
    form = document.getElementById("ask");
    input = document.getElementById("question");
    send = document.getElementById("send");
    if (pageTitle) {
      var scope = document.getElementById("scope");
      scope.textContent = "Asking from: " + pageTitle;
      scope.hidden = false;
    }
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var question = input.value.trim();
      if (!question) return;
      var empty = document.getElementById("empty");
      if (empty) empty.remove();
      input.value = "";
      send.disabled = true;
      await ask(question);
      send.disabled = false;
      input.focus();
    });
    input.disabled = false;
    send.disabled = false;
    form.dataset.ready = "1";
    input.focus();
  });
})();
