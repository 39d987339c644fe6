(function () {
  "use strict";

  // showStep opens the host card and the output of the step whose table row
  // has the given id, and brings it into view.
  function showStep(id) {
    var row = document.getElementById(id);
    if (!row || !row.classList.contains("step-row")) return false;
    var card = row.closest("details.host");
    if (card) card.open = true;
    var out = row.querySelector("details.out");
    if (out) out.open = true;
    row.classList.remove("flash");
    void row.offsetWidth; // restart the animation
    row.classList.add("flash");
    row.scrollIntoView({ block: "center" });
    return true;
  }

  function showHost(id) {
    var card = document.getElementById(id);
    if (!card) return false;
    card.open = true;
    card.scrollIntoView({ block: "start" });
    return true;
  }

  document.addEventListener("click", function (e) {
    var bar = e.target.closest && e.target.closest("a.bar");
    if (bar) {
      e.preventDefault();
      if (showStep(bar.getAttribute("data-target"))) setHash(bar.getAttribute("data-target"));
      return;
    }
    var go = e.target.closest && e.target.closest("a.goto");
    if (go) {
      e.preventDefault();
      var to = go.getAttribute("data-target");
      if (showStep(to) || showHost(to)) setHash(to);
      return;
    }
    var lbl = e.target.closest && e.target.closest("a.host-lbl");
    if (lbl) {
      e.preventDefault();
      var id = lbl.getAttribute("href").slice(1);
      if (showHost(id)) setHash(id);
    }
  });

  function setHash(id) {
    try { history.replaceState(null, "", "#" + id); } catch (err) { /* file: URLs may refuse; the view is right anyway */ }
  }

  var zoom = document.getElementById("tl-zoom");
  var tl = document.getElementById("tl");
  if (zoom && tl) {
    zoom.addEventListener("change", function () {
      tl.style.setProperty("--zoom", zoom.value);
    });
  }

  var filter = document.getElementById("tl-filter");
  if (filter) {
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      var rows = document.querySelectorAll(".row[data-host]");
      for (var i = 0; i < rows.length; i++) {
        var host = rows[i].getAttribute("data-host").toLowerCase();
        rows[i].classList.toggle("hidden", q !== "" && host.indexOf(q) < 0);
      }
      if (q !== "") {
        var groups = document.querySelectorAll("details.grp");
        for (var j = 0; j < groups.length; j++) groups[j].open = true;
      }
    });
  }

  function setAll(open) {
    var cards = document.querySelectorAll("details.host");
    for (var i = 0; i < cards.length; i++) cards[i].open = open;
  }
  var openAll = document.getElementById("open-all");
  var closeAll = document.getElementById("close-all");
  if (openAll) openAll.addEventListener("click", function () { setAll(true); });
  if (closeAll) closeAll.addEventListener("click", function () { setAll(false); });

  // selftest is for the report's own browser test (report.html#selftest): it
  // counts the bars, clicks one and says whether its output became visible,
  // and collects the script errors seen, into a pre#selftest-result element.
  function visible(el) {
    if (!el) return false;
    if (el.checkVisibility && !el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) return false;
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }

  function inView(el) {
    if (!el) return false;
    var r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  }

  function selftest() {
    var res = { bars: 0, keys: [], click: null, link: null, failedBarWidth: 0, errors: [] };
    var bars = document.querySelectorAll(".bar");
    res.bars = bars.length;
    for (var i = 0; i < bars.length; i++) {
      res.keys.push(bars[i].getAttribute("data-host") + "|" + bars[i].getAttribute("data-step-id") + "|" + bars[i].getAttribute("data-status"));
    }
    var target = document.querySelector(".bar.st-failed") || bars[bars.length - 1];
    if (target) {
      var row = document.getElementById(target.getAttribute("data-target"));
      var out = row && row.querySelector("details.out");
      var body = out && out.querySelector(".outbody");
      var before = visible(body);
      target.click();
      res.click = {
        host: target.getAttribute("data-host"),
        stepId: target.getAttribute("data-step-id"),
        visibleBefore: before,
        open: !!(out && out.open),
        visible: visible(body),
        inView: inView(body),
        text: body ? body.innerText.slice(0, 4000) : ""
      };
    }
    // The first failed host's link in what to do next, on a page whose
    // outputs are folded again: it must open its card and its failed step.
    var outs = document.querySelectorAll("details.out");
    for (var k = 0; k < outs.length; k++) outs[k].open = false;
    var link = document.querySelector(".next a.step-link");
    if (link) {
      var hostLink = link.parentNode.querySelector("a.host-link");
      var step = document.getElementById(link.getAttribute("data-target"));
      var stepBody = step && step.querySelector(".outbody");
      var stepBefore = visible(stepBody);
      link.click();
      res.link = {
        host: hostLink ? hostLink.textContent : "",
        card: hostLink ? hostLink.getAttribute("href") : "",
        target: link.getAttribute("data-target"),
        visibleBefore: stepBefore,
        visible: visible(stepBody),
        inView: inView(stepBody),
        text: stepBody ? stepBody.innerText.slice(0, 4000) : ""
      };
    }
    var failedBar = document.querySelector(".bar.st-failed");
    res.failedBarWidth = failedBar ? failedBar.getBoundingClientRect().width : 0;
    res.errors = window.__rbErrors ? window.__rbErrors.slice() : [];
    var pre = document.createElement("pre");
    pre.id = "selftest-result";
    pre.textContent = JSON.stringify(res);
    document.body.appendChild(pre);
  }

  var hash = location.hash.slice(1);
  if (hash === "selftest") {
    setTimeout(selftest, 0);
  } else if (hash) {
    if (!showStep(hash)) showHost(hash);
  }
})();
