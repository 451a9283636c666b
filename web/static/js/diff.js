/*
 * Stagegate designer: draw two versions of a process with the prebuilt bpmn-js
 * NavigatedViewer (window.BpmnJS) and mark what changed between them.
 *
 * Markup: `.diff-diagram[data-src][data-changes]`, data-changes being JSON
 * {"added"|"removed"|"changed": [element ids]}; each id gets the marker "diff-<kind>".
 * Clicking an item of `.diff-changes` (data-element-id) selects the element in both views.
 * When done a container gets data-rendered="true" and data-marked="<markers added>".
 */
(function () {
  'use strict';

  var viewers = [];

  function render(container) {
    var changes = JSON.parse(container.getAttribute('data-changes') || '{}');
    if (typeof window.BpmnJS !== 'function') {
      container.textContent = 'The diagram viewer is not installed (make assets).';
      container.setAttribute('data-rendered', 'error');
      return Promise.resolve();
    }
    return fetch(container.getAttribute('data-src'), { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      return r.text();
    }).then(function (xml) {
      var viewer = new window.BpmnJS({ container: container });
      viewers.push(viewer);
      return viewer.importXML(xml).then(function () {
        var canvas = viewer.get('canvas');
        var registry = viewer.get('elementRegistry');
        var marked = 0;
        canvas.zoom('fit-viewport', 'auto');
        Object.keys(changes).forEach(function (kind) {
          changes[kind].forEach(function (id) {
            if (registry.get(id)) { canvas.addMarker(id, 'diff-' + kind); marked += 1; }
          });
        });
        container.setAttribute('data-marked', String(marked));
        container.setAttribute('data-rendered', 'true');
      });
    }).catch(function (err) {
      container.textContent = 'diagram could not be loaded: ' + err.message;
      container.setAttribute('data-rendered', 'error');
    });
  }

  function select(id) {
    viewers.forEach(function (viewer) {
      var element = viewer.get('elementRegistry').get(id);
      viewer.get('selection').select(element || null);
      if (element && element.waypoints === undefined) {
        viewer.get('canvas').scrollToElement(element);
      }
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('.diff-diagram[data-src]'), render);
    Array.prototype.forEach.call(document.querySelectorAll('.diff-changes [data-element-id]'), function (item) {
      item.setAttribute('tabindex', '0');
      item.addEventListener('click', function () { select(item.getAttribute('data-element-id')); });
      item.addEventListener('keydown', function (e) {
        if (e.key === 'Enter') { select(item.getAttribute('data-element-id')); }
      });
    });
  });
}());
