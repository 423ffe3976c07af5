/* The search box of every page: suggestions as you type (debounced), from GET /api/v1/find.
 *
 * Arrow keys move through the suggestions, Enter opens the one chosen (else the form goes to
 * the search page, which opens an exact match directly), Escape closes the list. Without
 * JavaScript the form still works: it submits to /search.
 */
(function () {
  "use strict";

  var DELAY = 150; // ms after the last key before asking
  var LIMIT = 8;

  function setup(form) {
    var input = form.querySelector("input[name=q]");
    var list = form.querySelector("[role=listbox]");
    var endpoint = input && input.getAttribute("data-suggest");
    if (!input || !list || !endpoint) {
      return;
    }
    var timer = null;
    var asked = 0;
    var active = -1;

    function options() {
      return list.querySelectorAll("[role=option]");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(index) {
      var all = options();
      if (!all.length) {
        return;
      }
      active = (index + all.length) % all.length;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", all[active].id);
    }

    function show(hits) {
      list.textContent = "";
      hits.forEach(function (hit, i) {
        var option = document.createElement("li");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var link = document.createElement("a");
        link.href = hit.url;
        link.tabIndex = -1;
        var label = document.createElement("span");
        label.className = "hit-label";
        label.textContent = hit.label;
        var detail = document.createElement("small");
        detail.className = "hit-detail";
        detail.textContent = hit.kind + " · " + hit.detail;
        link.appendChild(label);
        link.appendChild(document.createTextNode(" "));
        link.appendChild(detail);
        option.appendChild(link);
        list.appendChild(option);
      });
      if (hits.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
    }

    function ask() {
      var text = input.value.trim();
      if (!text) {
        close();
        return;
      }
      var ticket = ++asked;
      var url = endpoint + "?limit=" + LIMIT + "&q=" + encodeURIComponent(text);
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { hits: [] }; })
        .then(function (answer) {
          if (ticket === asked) {  // an older answer arriving late is dropped
            active = -1;
            show(answer.hits || []);
          }
        })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) {
          return;
        }
        choose(active + (event.key === "ArrowDown" ? 1 : -1));
        event.preventDefault();
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();
        window.location.assign(options()[active].querySelector("a").href);
      } else if (event.key === "Escape") {
        close();
      }
    });
    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) {
        close();
      }
    });
  }

  function setupAll() {
    document.querySelectorAll("form.site-search").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupAll);
  } else {
    setupAll();
  }
})();
