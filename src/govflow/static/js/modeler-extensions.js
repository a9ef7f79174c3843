// The spiffworkflow extension elements govflow reads (spiffworkflow-moddle.json describes them):
// properties such as formJsonSchemaFilename, the service task's operator, a task's variableName.
// Reads take a business object; writes go through bpmn-js's modeling commands, so they can be undone.

export const FORM = 'formJsonSchemaFilename';

export function extension(bo, type) {
  const values = bo.extensionElements ? bo.extensionElements.get('values') : [];
  return values.find((value) => value.$instanceOf(type));
}

export function property(bo, name) {
  const properties = extension(bo, 'spiffworkflow:Properties');
  const found = properties && properties.get('properties').find((p) => p.name === name);
  return found ? found.value || '' : '';
}

export function variableName(bo) {
  const found = extension(bo, 'spiffworkflow:VariableName');
  return found ? found.value || '' : '';
}

export function operator(bo) {
  return extension(bo, 'spiffworkflow:ServiceTaskOperator');
}

export function parameters(bo) {
  const found = operator(bo);
  return found && found.parameters ? found.parameters.get('parameters') : [];
}

export class ExtensionWriter {
  constructor(modeler) {
    this.modeling = modeler.get('modeling');
    this.moddle = modeler.get('moddle');
  }

  setProperty(element, name, value) {
    const bo = element.businessObject;
    const properties = extension(bo, 'spiffworkflow:Properties');
    const list = properties ? properties.get('properties') : [];
    const found = list.find((p) => p.name === name);
    if (!value) {
      if (found) this.modeling.updateModdleProperties(element, properties, { properties: list.filter((p) => p !== found) });
    } else if (found) {
      this.modeling.updateModdleProperties(element, found, { value });
    } else {
      const container = properties || this.add(element, 'spiffworkflow:Properties', { properties: [] });
      const created = this.create('spiffworkflow:Property', { name, value }, container);
      this.modeling.updateModdleProperties(element, container, { properties: [...container.get('properties'), created] });
    }
  }

  setVariableName(element, value) {
    const found = extension(element.businessObject, 'spiffworkflow:VariableName');
    if (!value) {
      if (found) this.remove(element, found);
    } else if (found) {
      this.modeling.updateModdleProperties(element, found, { value });
    } else {
      this.add(element, 'spiffworkflow:VariableName', { value });
    }
  }

  setOperator(element, changes) {
    const found = operator(element.businessObject);
    if (found) {
      this.modeling.updateModdleProperties(element, found, changes);
    } else {
      this.add(element, 'spiffworkflow:ServiceTaskOperator', changes);
    }
  }

  setParameter(element, parameter, value) {
    this.modeling.updateModdleProperties(element, parameter, { value });
  }

  // -- the extensionElements container -----------------------------------------------------------------------------
  add(element, type, attrs) {
    const bo = element.businessObject;
    let container = bo.extensionElements;
    if (!container) {
      container = this.create('bpmn:ExtensionElements', { values: [] }, bo);
      this.modeling.updateProperties(element, { extensionElements: container });
    }
    const created = this.create(type, attrs, container);
    this.modeling.updateModdleProperties(element, container, { values: [...container.get('values'), created] });
    return created;
  }

  remove(element, value) {
    const container = element.businessObject.extensionElements;
    this.modeling.updateModdleProperties(element, container, { values: container.get('values').filter((v) => v !== value) });
  }

  create(type, attrs, parent) {
    const created = this.moddle.create(type, attrs);
    created.$parent = parent;
    return created;
  }
}
