/* Diagrams you can move in: pan and zoom on every `figure.diagram` (mouse, touch, keyboard),
 * a fit button, and a diagram that fits its box when the page loads or the window changes.
 *
 * Panning and zooming are Panzoom's (webapp/static/vendor/panzoom, loaded before this file);
 * this file only sizes the box, adds the buttons and the keys, and keeps a drag from
 * following the link it started on. Without JavaScript the diagram stays a plain,
 * scrollable picture.
 */
(function () {
  "use strict";

  var PT = 4 / 3; // Graphviz sizes its SVG in points; the viewBox is in points too
  var MIN_HEIGHT = 140;
  var PAN_STEP = 60;
  var DRAG = 5; // pixels a pointer may move and still click

  function naturalSize(svg) {
    var box = svg.viewBox && svg.viewBox.baseVal;
    if (box && box.width > 0 && box.height > 0) {
      return { width: box.width * PT, height: box.height * PT };
    }
    var rect = svg.getBoundingClientRect();
    return { width: rect.width || 600, height: rect.height || 300 };
  }

  /* The box's height: the diagram at its natural size, or smaller to fit the width and
   * three quarters of the window; the SVG then scales (preserveAspectRatio "meet") to fit. */
  function sizeBox(canvas, natural) {
    var width = canvas.clientWidth || natural.width;
    var scale = Math.min(1, width / natural.width);
    var height = Math.min(natural.height * scale, window.innerHeight * 0.75);
    canvas.style.height = Math.max(height, MIN_HEIGHT) + "px";
  }

  function button(label, text, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "tool";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.title = label;
    b.addEventListener("click", action);
    return b;
  }

  function attach(figure) {
    var canvas = figure.querySelector(".canvas");
    var svg = canvas && canvas.querySelector("svg");
    if (!svg || typeof window.Panzoom !== "function") {
      return null;
    }
    if (canvas.lineagePanzoom) {
      canvas.lineagePanzoom.destroy();
    }
    var natural = naturalSize(svg);
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    canvas.classList.add("zoomable");
    sizeBox(canvas, natural);
    var panzoom = window.Panzoom(svg, {
      maxScale: 10,
      minScale: 0.2,
      step: 0.25,
      cursor: "grab",
    });
    canvas.lineagePanzoom = panzoom;
    if (!canvas.hasAttribute("tabindex")) {  // once per box, whatever drawing it holds
      canvas.addEventListener("wheel", function (event) {
        canvas.lineagePanzoom.zoomWithWheel(event);
      });
      canvas.tabIndex = 0;
      canvas.setAttribute("role", "group");
      canvas.setAttribute(
        "aria-label",
        "Diagram: drag or use the arrow keys to pan, the wheel or + and - to zoom, 0 to fit"
      );
      canvas.addEventListener("keydown", function (event) {
        keyed(event, canvas.lineagePanzoom);
      });
      guardClicks(canvas);
    }
    if (!figure.querySelector(".tools")) {
      var tools = document.createElement("div");
      tools.className = "tools";
      tools.setAttribute("role", "toolbar");
      tools.setAttribute("aria-label", "Diagram view");
      tools.appendChild(button("Zoom in", "+", function () { canvas.lineagePanzoom.zoomIn(); }));
      tools.appendChild(button("Zoom out", "−", function () { canvas.lineagePanzoom.zoomOut(); }));
      tools.appendChild(button("Fit to screen", "Fit", function () { fit(canvas); }));
      figure.insertBefore(tools, canvas);
    }
    canvas.lineageNatural = natural;
    expandButton(figure, canvas, svg);
    return panzoom;
  }

  /* A diagram cut some steps from its value (its SVG root names the URL one step deeper)
   * grows one step per click, from the API, without reloading the page. */
  function expandButton(figure, canvas, svg) {
    var tools = figure.querySelector(".tools");
    var old = tools && tools.querySelector(".expand");
    if (old) {
      old.remove();
    }
    var url = svg.getAttribute("data-expand");
    if (!tools || !url) {
      return;
    }
    var direction = svg.getAttribute("data-direction") || "upstream";
    var hidden = svg.getAttribute("data-hidden") || "";
    var label = "Expand " + direction + " one step";
    var b = button(label, label + " (" + hidden + " more)", function () {
      b.disabled = true;
      fetch(url, { headers: { Accept: "image/svg+xml" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("the diagram could not be grown: " + response.status);
          }
          return response.text();
        })
        .then(function (text) {
          var parsed = new DOMParser().parseFromString(text, "image/svg+xml");
          var grown = parsed.documentElement;
          if (!grown || grown.nodeName !== "svg") {
            throw new Error("the answer is not a diagram");
          }
          svg.replaceWith(document.importNode(grown, true));
          attach(figure);
        })
        .catch(function () { b.disabled = false; });
    });
    b.classList.add("expand");
    tools.insertBefore(b, tools.firstChild);
  }

  function fit(canvas) {
    sizeBox(canvas, canvas.lineageNatural);
    canvas.lineagePanzoom.reset({ animate: false });
  }

  function keyed(event, panzoom) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var moves = {
      ArrowLeft: [PAN_STEP, 0],
      ArrowRight: [-PAN_STEP, 0],
      ArrowUp: [0, PAN_STEP],
      ArrowDown: [0, -PAN_STEP],
    };
    if (moves[event.key]) {
      var scale = panzoom.getScale();
      panzoom.pan(moves[event.key][0] / scale, moves[event.key][1] / scale, { relative: true });
    } else if (event.key === "+" || event.key === "=") {
      panzoom.zoomIn();
    } else if (event.key === "-" || event.key === "_") {
      panzoom.zoomOut();
    } else if (event.key === "0") {
      fit(event.currentTarget);
    } else {
      return;
    }
    event.preventDefault();
  }

  /* A drag that ends on a node is a pan, not a click on its link. */
  function guardClicks(canvas) {
    var start = null;
    canvas.addEventListener("pointerdown", function (event) {
      start = { x: event.clientX, y: event.clientY };
    }, true);
    canvas.addEventListener("click", function (event) {
      if (start && Math.hypot(event.clientX - start.x, event.clientY - start.y) > DRAG) {
        event.preventDefault();
        event.stopPropagation();
      }
      start = null;
    }, true);
  }

  /* A value node leads to its trace, and offers the value's impact, its golden record and
   * the pages of its system and element: a click (or Enter) on it opens that short menu. */
  function valueMenu(figure, link) {
    var target = new URL(link.getAttribute("href") || link.getAttribute("xlink:href"), window.location.href);
    var params = target.searchParams;
    var system = params.get("system");
    var element = params.get("element");
    var record = params.get("record");
    if (!/\/trace$/.test(target.pathname) || !system || !element || !record) {
      return null;
    }
    var root = target.pathname.replace(/trace$/, "");
    var golden = new URLSearchParams({ system: system, record: record });
    var items = [
      ["Trace this value", target.pathname + target.search],
      ["Impact downstream", root + "impact" + target.search],
      ["Golden record of " + system + " " + record, root + "golden?" + golden.toString()],
      ["System " + system, root + "systems/" + encodeURIComponent(system)],
      ["Element " + element, root + "elements/" + encodeURIComponent(element)],
    ];
    var menu = document.createElement("div");
    menu.className = "node-menu";
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", system + " / " + element + " / " + record);
    var title = document.createElement("p");
    title.className = "node-menu-title";
    title.textContent = system + " / " + element + " / " + record;
    menu.appendChild(title);
    items.forEach(function (item) {
      var a = document.createElement("a");
      a.setAttribute("role", "menuitem");
      a.href = item[1];
      a.textContent = item[0];
      menu.appendChild(a);
    });
    return menu;
  }

  function closeMenus() {
    document.querySelectorAll(".node-menu").forEach(function (menu) { menu.remove(); });
  }

  function openMenu(figure, link) {
    closeMenus();
    var menu = valueMenu(figure, link);
    if (!menu) {
      return false;
    }
    var box = link.getBoundingClientRect();
    var frame = figure.getBoundingClientRect();
    menu.style.left = Math.max(0, box.left - frame.left) + "px";
    menu.style.top = (box.bottom - frame.top + 4) + "px";
    figure.appendChild(menu);
    menu.addEventListener("keydown", function (event) {
      var entries = Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]"));
      var at = entries.indexOf(document.activeElement);
      if (event.key === "Escape") {
        closeMenus();
        link.focus();
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        var step = event.key === "ArrowDown" ? 1 : -1;
        entries[(at + step + entries.length) % entries.length].focus();
      } else {
        return;
      }
      event.preventDefault();
    });
    menu.querySelector("[role=menuitem]").focus();
    return true;
  }

  function valueLinks(figure) {
    figure.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("svg a");
      if (link && figure.contains(link) && openMenu(figure, link)) {
        event.preventDefault();
      }
    });
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest(".node-menu, svg a")) {
      closeMenus();
    }
  });

  function attachAll() {
    document.querySelectorAll("figure.diagram").forEach(valueLinks);
    document.querySelectorAll("figure.diagram").forEach(attach);
    // until here a click on a node simply follows its link; say when it opens the menu instead
    document.documentElement.setAttribute("data-diagrams", "ready");
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      document.querySelectorAll("figure.diagram .canvas.zoomable").forEach(fit);
    }, 150);
  });

  window.LineageDiagrams = { attach: attach, fit: fit };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", attachAll);
  } else {
    attachAll();
  }
})();
