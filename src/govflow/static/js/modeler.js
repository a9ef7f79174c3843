// The designer's modeler page: bpmn-js (the UMD global BpmnJS) with govflow's own properties
// panel, the deploy checks run on the server (each problem as a badge on its element and in a
// list beside the diagram), deploy as a new version, and the diagram's forms.
import { chineseModule } from './modeler-chinese.js';
import { FormsPanel } from './modeler-forms.js';
import { post } from './modeler-http.js';
import { PropertiesPanel } from './modeler-properties.js';

const page = JSON.parse(document.getElementById('designer-data').textContent);
const FONT = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", Arial, sans-serif';

async function main() {
  const descriptor = await (await fetch(page.moddle)).json();
  const modeler = new BpmnJS({
    container: '#canvas',
    moddleExtensions: { spiffworkflow: descriptor },
    additionalModules: [chineseModule],
    textRenderer: { defaultStyle: { fontFamily: FONT }, externalStyle: { fontFamily: FONT } }
  });
  try {
    const { warnings } = await modeler.importXML(page.xml);
    keepVariableReferences(modeler, warnings);
  } catch (err) {
    say('error', `流程图无法打开：${err.message}`);
    return;
  }
  fit(modeler.get('canvas'));
  const forms = new FormsPanel(modeler, page);
  new PropertiesPanel(modeler, document.getElementById('properties'), { page, openForm: (name) => forms.open(name) });
  const problems = new Problems(modeler);
  const send = async (url) => {
    const { xml } = await modeler.saveXML({ format: true });
    return post(url, { xml, filename: page.filename, forms: forms.forms() }, page.csrf);
  };
  on('validate', '正在校验…', async () => validated(await send(page.urls.validate), problems));
  on('deploy', '正在校验并部署…', async () => deployed(await send(page.urls.deploy), problems));
  on('download', '', async () => download((await modeler.saveXML({ format: true })).xml));
}

// the diagram in view, clear of the palette on its left
function fit(canvas) {
  const { inner, outer } = canvas.viewbox();
  const left = 130;
  const right = 60;     // room for the context pad
  const margin = 20;
  const fits = Math.min((outer.width - left - right) / inner.width, (outer.height - 2 * margin) / inner.height);
  const scale = Math.min(Math.max(fits, 0.5), 1);    // a wide diagram starts at its left end, still legible
  canvas.viewbox({ x: inner.x - left / scale, y: inner.y - margin / scale, width: outer.width / scale, height: outer.height / scale });
}

// SpiffWorkflow's multi-instance tasks name process variables in loopDataInputRef/OutputRef; bpmn-js
// drops a reference to an id the file does not declare. Put each back as a placeholder that export
// writes out unchanged.
function keepVariableReferences(modeler, warnings) {
  const moddle = modeler.get('moddle');
  for (const { element, property, value } of warnings) {
    if (element && property && value && !Array.isArray(element.get(property))) {
      element.set(property, moddle.create('bpmn:DataObject', { id: value }));
    }
  }
}

function validated(answer, problems) {
  const found = answer.problems || [];
  problems.show(found);
  if (!answer.ok) {
    say('error', answer.message);
  } else if (answer.passed) {
    say('ok', found.length ? `校验通过，另有 ${found.length} 条提示` : '校验通过，没有发现问题');
  } else {
    say('error', `发现 ${found.filter((p) => p.severity === 'error').length} 处问题，修改后请再校验`);
  }
}

function deployed(answer, problems) {
  if (!answer.ok) {
    problems.show(answer.problems || []);
    say('error', answer.message);
    return;
  }
  problems.show(answer.warnings);
  say('ok', `${answer.message}。`, ...answer.versions.filter((v) => !v.unchanged).map((v) => link(v.url, `打开第 ${v.version} 版`)));
}

class Problems {
  constructor(modeler) {
    this.overlays = modeler.get('overlays');
    this.registry = modeler.get('elementRegistry');
    this.selection = modeler.get('selection');
    this.canvas = modeler.get('canvas');
    this.list = document.getElementById('problems');
    this.empty = document.getElementById('problems-empty');
  }

  show(problems) {
    this.overlays.remove({ type: 'govflow-problem' });
    this.list.replaceChildren(...problems.map((p) => this.item(p)));
    this.empty.textContent = '没有发现问题。';
    this.empty.hidden = problems.length > 0;
    const byElement = new Map();
    for (const problem of problems) {
      const element = this.find(problem.element);
      if (element) byElement.set(element, [...(byElement.get(element) || []), problem]);
    }
    for (const [element, found] of byElement) {
      this.overlays.add(element, 'govflow-problem', { position: { bottom: -6, left: -6 }, html: this.badge(element, found) });
    }
    this.banner(problems.filter((p) => !this.find(p.element)));
  }

  // what concerns the whole process or file (not one element) is shown over the top of the diagram
  banner(problems) {
    const root = this.canvas.getRootElement();
    const container = this.canvas.getContainer();
    container.querySelectorAll('.problem-banner').forEach((b) => b.remove());
    if (!problems.length) return;
    const banner = document.createElement('div');
    banner.className = `problem-banner ${problems.some((p) => p.severity === 'error') ? 'error' : 'warning'}`;
    banner.dataset.element = root.id;
    banner.textContent = problems.map((p) => `${p.element === root.id ? '流程' : p.element === '(文件)' ? '整个文件' : p.element}：${p.reason}`).join('\n');
    banner.addEventListener('click', () => this.selection.select([]));
    container.append(banner);
  }

  // an element id, or a process id shown as its pool; "(文件)" and line numbers are not on the diagram
  find(id) {
    const element = this.registry.get(id) ||
      this.registry.find((e) => e.type === 'bpmn:Participant' && e.businessObject.processRef && e.businessObject.processRef.id === id);
    return element && element.parent ? element : null;
  }

  badge(element, problems) {
    const badge = document.createElement('div');
    badge.className = `problem-badge ${problems.some((p) => p.severity === 'error') ? 'error' : 'warning'}`;
    badge.dataset.element = element.id;
    badge.textContent = problems.map((p) => p.reason).join('\n');
    badge.addEventListener('click', () => this.reveal(element));
    return badge;
  }

  item(problem) {
    const element = this.find(problem.element);
    const where = element ? `${element.businessObject.name || element.id}` : problem.element === '(文件)' ? '整个文件' : problem.element;
    const line = !element && problem.line ? `（第 ${problem.line} 行）` : '';
    const button = document.createElement('button');
    button.type = 'button';
    button.append(Object.assign(document.createElement('strong'), { textContent: `${where}${line}` }), `：${problem.reason}`);
    button.disabled = !element;
    if (element) button.addEventListener('click', () => this.reveal(element));
    const item = document.createElement('li');
    item.className = problem.severity === 'error' ? 'error' : 'warning';
    item.dataset.element = problem.element;
    item.append(button);
    return item;
  }

  reveal(element) {
    this.canvas.scrollToElement(element);
    this.selection.select(element);
  }
}

// -- the page ------------------------------------------------------------------------------------------------------
function on(id, busy, action) {
  document.getElementById(id).addEventListener('click', async () => {
    document.querySelectorAll('.designer-actions button').forEach((b) => { b.disabled = true; });
    if (busy) say('busy', busy);
    try {
      await action();
    } finally {
      document.querySelectorAll('.designer-actions button').forEach((b) => { b.disabled = false; });
    }
  });
}

function say(kind, text, ...extra) {
  const status = document.getElementById('status');
  status.className = `designer-status ${kind}`;
  status.hidden = false;
  status.replaceChildren(text, ...extra);
}

function link(href, text) {
  return Object.assign(document.createElement('a'), { href, textContent: text });
}

function download(xml) {
  const url = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
  Object.assign(document.createElement('a'), { href: url, download: page.filename }).click();
  URL.revokeObjectURL(url);
}

main();
