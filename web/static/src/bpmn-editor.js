/* Stagegate designer: bpmn-js Modeler with the Camunda 7 properties panel. */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';

import { startDesigner } from './designer-common.js';

const root = document.getElementById('designer');

const modeler = new BpmnModeler({
  container: root.querySelector('.designer-canvas'),
  propertiesPanel: { parent: root.querySelector('.designer-properties') },
  additionalModules: [
    BpmnPropertiesPanelModule,
    BpmnPropertiesProviderModule,
    CamundaPlatformPropertiesProviderModule,
    CamundaBehaviorsModule
  ],
  moddleExtensions: { camunda: camundaModdle }
});
root._modeler = modeler; // for tests and debugging

let marked = [];

startDesigner(root, {
  load: (xml) => modeler.importXML(xml).then(() => modeler.get('canvas').zoom('fit-viewport', 'auto')),
  xml: () => modeler.saveXML({ format: true }).then((result) => result.xml),
  onChange: (fn) => modeler.on('commandStack.changed', fn),
  mark(problems) {
    const canvas = modeler.get('canvas');
    const registry = modeler.get('elementRegistry');
    const overlays = modeler.get('overlays');
    marked.forEach((id) => {
      if (registry.get(id)) {
        canvas.removeMarker(id, 'problem-error');
        canvas.removeMarker(id, 'problem-warning');
      }
    });
    overlays.remove({ type: 'problem' });
    marked = [];
    const worst = {};
    problems.forEach((p) => {
      if (p.element_id && registry.get(p.element_id)) {
        worst[p.element_id] = worst[p.element_id] === 'error' ? 'error' : p.severity;
      }
    });
    Object.keys(worst).forEach((id) => {
      canvas.addMarker(id, 'problem-' + worst[id]);
      marked.push(id);
      const badge = document.createElement('span');
      badge.className = 'problem-badge ' + worst[id];
      badge.textContent = '!';
      badge.title = problems.filter((p) => p.element_id === id).map((p) => p.reason).join('\n');
      const element = registry.get(id);
      overlays.add(id, 'problem', element.waypoints
        ? { position: { top: -8, left: -8 }, html: badge }
        : { position: { top: -8, right: 8 }, html: badge });
    });
  },
  select(id) {
    const element = modeler.get('elementRegistry').get(id);
    if (!element) { return; }
    modeler.get('selection').select(element);
    if (!element.waypoints) { modeler.get('canvas').scrollToElement(element); }
  }
});
