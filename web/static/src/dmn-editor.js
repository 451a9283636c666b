/* Stagegate designer: dmn-js Modeler for decision tables (the gate criteria). */
import DmnModeler from 'dmn-js/lib/Modeler';
import camundaModdle from 'camunda-dmn-moddle/resources/camunda.json';

import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn-embedded.css';

import { startDesigner } from './designer-common.js';

const root = document.getElementById('designer');
const modeler = new DmnModeler({
  container: root.querySelector('.designer-canvas'),
  common: { keyboard: { bindTo: window } },
  moddleExtensions: { camunda: camundaModdle }
});
root._modeler = modeler; // for tests and debugging

function openTable(id) {
  const view = modeler.getViews().find((v) => v.type === 'decisionTable' && (!id || v.element.id === id));
  return view ? modeler.open(view) : Promise.resolve();
}

startDesigner(root, {
  // Open the (first) decision table rather than the requirements diagram: the rules are what change.
  load: (xml) => modeler.importXML(xml).then(() => openTable(root.dataset.key)),
  xml: () => modeler.saveXML({ format: true }).then((result) => result.xml),
  onChange(fn) {
    // Each view (table, diagram) has its own command stack; listen on whichever is open.
    const listen = () => {
      const viewer = modeler.getActiveViewer();
      if (viewer && !viewer._stagegateListening) {
        viewer._stagegateListening = true;
        viewer.get('eventBus').on('elements.changed', fn);
      }
    };
    listen();
    modeler.on('views.changed', listen);
  },
  mark(problems) {
    // A cell's problem names its rule and column (problem.cell): mark that cell, or the whole rule.
    root.querySelectorAll('.dmn-problem').forEach((el) => {
      el.classList.remove('dmn-problem');
      el.removeAttribute('title');
    });
    problems.forEach((p) => {
      if (!p.cell || !p.cell.rule) { return; }
      let selector = `td[data-row-id="${CSS.escape(p.cell.rule)}"]`;
      if (p.cell.column) { selector += `[data-col-id="${CSS.escape(p.cell.column)}"]`; }
      root.querySelectorAll(selector).forEach((td) => {
        td.classList.add('dmn-problem');
        td.title = p.reason;
      });
    });
  },
  select(id) { openTable(id); }
});
