/*
 * Stagegate: render BPMN diagrams with the prebuilt bpmn-js NavigatedViewer (window.BpmnJS,
 * from /static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js, loaded before this
 * file). No inline script: the pages run under a strict Content-Security-Policy.
 *
 * Markup, for every `#diagram` or `.diagram[data-src]` element:
 *   data-src      URL of the BPMN XML (same origin; the session cookie is sent)
 *   data-current  JSON list of element ids being worked now      -> marker "current-task"
 *   data-visited  JSON {element id: times entered}               -> marker "visited",
 *                 plus an overlay badge "×N" when N > 1
 *   data-flows    JSON list of sequence flow ids that were taken  -> marker "taken"
 *   data-cancelled JSON list of element ids reached but withdrawn before anyone worked them
 *                 (an escalation closed with the task it chased)   -> marker "cancelled"
 *   data-focus    optional JSON list of element ids to open centred on (default: data-current)
 *   data-open     "fit": open showing the whole diagram (the audit page's whole path)
 *   data-timeline optional selector of a list whose items carry data-element="<element id>":
 *                 clicking an element marks its items "selected" (and scrolls to the first);
 *                 the container's data-selected then holds the element id
 *
 * Buttons with data-diagram="zoom-in" | "zoom-out" | "fit" | "current" in a .diagram-tools
 * element of the same section zoom, fit the whole diagram, or centre on the current task. The
 * diagram opens centred on the current task at a scale where its labels are readable (or fitted
 * when the deal is nowhere now); data-scale holds the scale.
 *
 * When done the container gets data-rendered="true" and data-marked="<markers added>";
 * on failure data-rendered="error" and a readable message inside the container.
 */
(function () {
  'use strict';

  var TIMES = '\u00d7';

  function parseJSON(container, name, fallback) {
    var raw = container.getAttribute('data-' + name);
    if (raw === null || raw.trim() === '') {
      return fallback;
    }
    try {
      return JSON.parse(raw);
    } catch (err) {
      // Tolerate a plain comma-separated list of ids.
      if (Array.isArray(fallback)) {
        return raw.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
      }
      throw new Error('data-' + name + ' is not valid JSON');
    }
  }

  function asList(value) {
    if (Array.isArray(value)) {
      return value;
    }
    if (value && typeof value === 'object') {
      return Object.keys(value);
    }
    return value ? [String(value)] : [];
  }

  function showError(container, err) {
    var message = (err && err.message) ? err.message : String(err);
    container.textContent = '';
    var box = document.createElement('p');
    box.className = 'diagram-error';
    box.setAttribute('role', 'alert');
    box.textContent = 'diagram could not be loaded: ' + message;
    container.appendChild(box);
    container.setAttribute('data-error', message);
    container.setAttribute('data-rendered', 'error');
  }

  function badge(count) {
    var span = document.createElement('span');
    span.className = 'visit-badge';
    span.title = 'entered ' + count + ' times';
    span.textContent = TIMES + count;
    return span;
  }

  function mark(viewer, container) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var overlays = viewer.get('overlays');
    var marked = 0;

    function add(id, cls) {
      if (typeof id !== 'string' || !registry.get(id)) {
        return false; // an id the diagram does not have (e.g. another version): skip it
      }
      canvas.addMarker(id, cls);
      marked += 1;
      return true;
    }

    var visited = parseJSON(container, 'visited', {});
    if (Array.isArray(visited)) {
      visited.forEach(function (id) { add(id, 'visited'); });
    } else {
      Object.keys(visited || {}).forEach(function (id) {
        var count = Number(visited[id]) || 0;
        if (add(id, 'visited') && count > 1) {
          overlays.add(id, 'visit-count', {
            position: { top: -10, right: 14 },
            html: badge(count)
          });
        }
      });
    }
    asList(parseJSON(container, 'flows', [])).forEach(function (id) { add(id, 'taken'); });
    asList(parseJSON(container, 'cancelled', [])).forEach(function (id) { add(id, 'cancelled'); });
    asList(parseJSON(container, 'current', [])).forEach(function (id) { add(id, 'current-task'); });
    return marked;
  }

  function linkTimeline(viewer, container) {
    var selector = container.getAttribute('data-timeline');
    var list = selector ? document.querySelector(selector) : null;
    if (!list) {
      return;
    }
    viewer.get('eventBus').on('element.click', function (event) {
      var id = event.element && event.element.id;
      var first = null;
      Array.prototype.forEach.call(list.querySelectorAll('[data-element]'), function (item) {
        var hit = item.getAttribute('data-element') === id;
        item.classList.toggle('selected', hit);
        if (hit && !first) {
          first = item;
        }
      });
      container.setAttribute('data-selected', first ? id : '');
      if (first) {
        first.scrollIntoView({ block: 'nearest' });
      }
    });
  }

  var READABLE = 0.9; // below this the diagram's 11px labels are too small to read
  var STEP = 1.25;

  function showScale(viewer, container) {
    container.setAttribute('data-scale', viewer.get('canvas').zoom().toFixed(3));
  }

  function bounds(found) {
    var x0 = Math.min.apply(null, found.map(function (e) { return e.x; }));
    var y0 = Math.min.apply(null, found.map(function (e) { return e.y; }));
    var x1 = Math.max.apply(null, found.map(function (e) { return e.x + (e.width || 0); }));
    var y1 = Math.max.apply(null, found.map(function (e) { return e.y + (e.height || 0); }));
    return { x0: x0, y0: y0, x1: x1, y1: y1 };
  }

  // Centre on the elements at a readable scale; when they do not all fit at that scale (parallel
  // sign-offs far apart), on the first of them.
  function centreOn(viewer, container, ids) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var found = ids.map(function (id) { return registry.get(id); }).filter(Boolean);
    if (!found.length) {
      return false;
    }
    var outer = canvas.viewbox().outer;
    var b = bounds(found);
    var fits = Math.min(outer.width / (b.x1 - b.x0 + 160), outer.height / (b.y1 - b.y0 + 120));
    if (fits < READABLE) {
      b = bounds([found[0]]);
      fits = READABLE;
    }
    var scale = Math.min(fits, READABLE * 1.2);
    var w = outer.width / scale;
    var h = outer.height / scale;
    canvas.viewbox({ x: (b.x0 + b.x1) / 2 - w / 2, y: (b.y0 + b.y1) / 2 - h / 2, width: w, height: h });
    showScale(viewer, container);
    return true;
  }

  function fit(viewer, container) {
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    showScale(viewer, container);
  }

  function linkTools(viewer, container, current) {
    var section = container.parentNode;
    var tools = section ? section.querySelector('.diagram-tools') : null;
    if (!tools) {
      return;
    }
    var canvas = viewer.get('canvas');
    tools.addEventListener('click', function (event) {
      var button = event.target.closest('[data-diagram]');
      if (!button) {
        return;
      }
      var what = button.getAttribute('data-diagram');
      if (what === 'zoom-in' || what === 'zoom-out') {
        var scale = canvas.zoom() * (what === 'zoom-in' ? STEP : 1 / STEP);
        canvas.zoom(Math.max(0.1, Math.min(4, scale)), 'auto');
        showScale(viewer, container);
      } else if (what === 'fit') {
        fit(viewer, container);
      } else if (what === 'current') {
        centreOn(viewer, container, current);
      }
    });
  }

  function render(container) {
    if (container.getAttribute('data-rendered')) {
      return Promise.resolve(); // already done (the script was included twice)
    }
    container.setAttribute('data-rendered', 'loading');
    var src = container.getAttribute('data-src');
    if (!src) {
      showError(container, new Error('no data-src given'));
      return Promise.resolve();
    }
    if (typeof window.BpmnJS !== 'function') {
      showError(container, new Error('the bpmn-js viewer script is not loaded'));
      return Promise.resolve();
    }
    return fetch(src, {
      credentials: 'same-origin',
      headers: { Accept: 'application/xml, text/xml' }
    }).then(function (response) {
      if (!response.ok) {
        throw new Error('HTTP ' + response.status + ' ' + response.statusText + ' for ' + src);
      }
      return response.text();
    }).then(function (xml) {
      var viewer = new window.BpmnJS({ container: container });
      container._stagegateViewer = viewer; // for debugging and tests
      return viewer.importXML(xml).then(function () {
        var current = asList(parseJSON(container, 'focus', null) || parseJSON(container, 'current', []));
        fit(viewer, container);
        if (container.getAttribute('data-open') !== 'fit' && viewer.get('canvas').zoom() < READABLE) {
          centreOn(viewer, container, current);
        }
        var marked = mark(viewer, container);
        linkTimeline(viewer, container);
        linkTools(viewer, container, current);
        container.setAttribute('data-marked', String(marked));
        container.setAttribute('data-rendered', 'true');
      }, function (err) {
        viewer.destroy();
        throw err;
      });
    }).catch(function (err) {
      showError(container, err);
    });
  }

  function renderAll() {
    var found = document.querySelectorAll('#diagram, .diagram[data-src]');
    Array.prototype.forEach.call(found, render);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', renderAll);
  } else {
    renderAll();
  }
}());
