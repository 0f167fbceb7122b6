// articlebot widget: <script src="http://HOST:7860/widget.js" data-title="Ask the articles"
// data-position="right" [data-key="READ_ONLY_KEY"]></script>
// Adds a floating button; clicking it opens the chat (HOST/embed) in an iframe, scoped to this page.
// Styles are set through the DOM (no inline <style>), so pages with a strict CSP can still use it.
(function () {
  "use strict";
  if (window.__articlebotWidget) return; // loaded twice: keep one button
  window.__articlebotWidget = true;

  var script = document.currentScript;
  var config = window.ArticlebotWidget || {}; // for loaders without data-* (e.g. mw.loader.load)
  function option(name, fallback) {
    return (script && script.getAttribute("data-" + name)) || config[name] || fallback;
  }
  // The folder widget.js is served from, so a server behind a proxy prefix (root_path) works too.
  var server = option("server", script && script.src ? new URL(".", new URL(script.src, location.href)).href.replace(/\/$/, "") : "");
  var title = option("title", "Ask the articles");
  var side = option("position", "right") === "left" ? "left" : "right";
  var key = option("key", "");

  function style(node, props) { Object.assign(node.style, props); return node; }

  var button = style(document.createElement("button"), {
    position: "fixed", bottom: "20px", zIndex: "2147483000", padding: "10px 16px",
    border: "0", borderRadius: "22px", background: "#1f6feb", color: "#fff", cursor: "pointer",
    font: "600 14px system-ui, sans-serif", boxShadow: "0 2px 8px rgba(0,0,0,.25)"
  });
  button.style[side] = "20px";
  button.type = "button";
  button.id = "articlebot-button";
  button.textContent = title;
  button.setAttribute("aria-expanded", "false");

  var panel = null;

  function embedUrl() {
    var query = new URLSearchParams({ page_url: location.origin + location.pathname + location.search, page_title: document.title, title: title });
    // The key travels in the fragment: it is not sent in the request line, logs or Referer headers.
    return server + "/embed?" + query.toString() + (key ? "#key=" + encodeURIComponent(key) : "");
  }

  function buildPanel() {
    var box = style(document.createElement("div"), {
      position: "fixed", bottom: "72px", zIndex: "2147483000", width: "min(380px, calc(100vw - 40px))",
      height: "min(540px, calc(100vh - 100px))", background: "#fff", borderRadius: "10px",
      boxShadow: "0 4px 24px rgba(0,0,0,.3)", overflow: "hidden", display: "flex", flexDirection: "column"
    });
    box.style[side] = "20px";
    box.id = "articlebot-panel";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", title);
    var bar = style(document.createElement("div"), {
      display: "flex", justifyContent: "space-between", alignItems: "center", padding: "6px 10px",
      background: "#f6f8fa", borderBottom: "1px solid #d0d7de", font: "600 13px system-ui, sans-serif",
      color: "#1f2328"
    });
    var label = document.createElement("span");
    label.textContent = title;
    var close = style(document.createElement("button"), {
      border: "0", background: "transparent", fontSize: "18px", cursor: "pointer", color: "#1f2328"
    });
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", toggle);
    bar.appendChild(label);
    bar.appendChild(close);
    var frame = style(document.createElement("iframe"), { flex: "1", border: "0", width: "100%" });
    frame.id = "articlebot-frame";
    frame.title = title;
    frame.src = embedUrl();
    frame.setAttribute("referrerpolicy", "no-referrer");
    box.appendChild(bar);
    box.appendChild(frame);
    document.body.appendChild(box);
    return box;
  }

  function toggle() {
    if (!panel) panel = buildPanel();
    else panel.style.display = panel.style.display === "none" ? "flex" : "none";
    var open = panel.style.display !== "none";
    button.setAttribute("aria-expanded", String(open));
  }

  button.addEventListener("click", toggle);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && panel && panel.style.display !== "none") toggle();
  });

  function mount() { document.body.appendChild(button); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
