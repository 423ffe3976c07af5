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
    canvas.addEventListener("wheel", panzoom.zoomWithWheel);
    if (!canvas.hasAttribute("tabindex")) {
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
    return panzoom;
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

  function attachAll() {
    document.querySelectorAll("figure.diagram").forEach(attach);
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
