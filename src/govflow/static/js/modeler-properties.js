// govflow's own properties panel: for the selected element, the few things a govflow diagram
// needs (name, lane, form, deadline, escalation, operator, condition, default branch, timer).
// Every change is a bpmn-js modeling command, so Ctrl+Z undoes it and export writes it.
import { ExtensionWriter, FORM, operator, parameters, property, variableName } from './modeler-extensions.js';

const KINDS = {
  'bpmn:UserTask': '用户任务', 'bpmn:ManualTask': '人工任务', 'bpmn:ServiceTask': '服务任务',
  'bpmn:ScriptTask': '脚本任务', 'bpmn:Task': '任务', 'bpmn:SubProcess': '子流程', 'bpmn:CallActivity': '调用活动',
  'bpmn:StartEvent': '开始事件', 'bpmn:EndEvent': '结束事件', 'bpmn:BoundaryEvent': '边界事件',
  'bpmn:IntermediateCatchEvent': '中间事件', 'bpmn:IntermediateThrowEvent': '中间事件',
  'bpmn:ExclusiveGateway': '排他网关', 'bpmn:ParallelGateway': '并行网关', 'bpmn:InclusiveGateway': '包容网关',
  'bpmn:EventBasedGateway': '事件网关', 'bpmn:SequenceFlow': '连线', 'bpmn:Lane': '泳道', 'bpmn:Participant': '池',
  'bpmn:TextAnnotation': '注释'
};
const TIMER_KINDS = {
  timeDate: '到期时间（timeDate）', timeDuration: '持续时间（timeDuration）', timeCycle: '循环（timeCycle）'
};
const BRANCHING = ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway'];
const ESCALATE_TO = 'escalateTo';
const ESCALATE_AFTER = 'escalateAfterPresses';
const DUE = 'dueDate';
const NOTHING = '点击图中的任务、连线、泳道等元素，在此查看和修改它的属性。';

export class PropertiesPanel {
  constructor(modeler, root, { page, openForm }) {
    this.modeler = modeler;
    this.root = root;
    this.page = page;
    this.openForm = openForm;
    this.modeling = modeler.get('modeling');
    this.moddle = modeler.get('moddle');
    this.writer = new ExtensionWriter(modeler);
    this.element = null;
    const events = modeler.get('eventBus');
    events.on('selection.changed', ({ newSelection }) => this.show(newSelection.length === 1 ? newSelection[0] : null));
    events.on('commandStack.changed', () => {
      if (!root.contains(document.activeElement)) this.show(this.element);   // undo, redo, edits on the canvas
    });
    const forms = [...new Set([...page.formFiles, ...Object.keys(page.forms)])].sort();
    document.body.append(datalist('lane-names', page.lanes), datalist('form-files', forms));
    this.show(null);
  }

  show(element) {
    const target = element && element.labelTarget ? element.labelTarget : element;
    this.element = target && this.modeler.get('elementRegistry').get(target.id) ? target : null;
    this.root.replaceChildren(...(this.element ? this.sections(this.element) : this.processSection()));
  }

  // nothing selected: the process of a diagram without a pool, whose own settings a file from another
  // modeler often lacks (可执行)
  processSection() {
    const root = this.modeler.get('canvas').getRootElement();
    const parts = [h('p', { className: 'muted' }, NOTHING)];
    if (root && root.businessObject && root.businessObject.$type === 'bpmn:Process') {
      const bo = root.businessObject;
      const rename = (value) => this.modeling.updateModdleProperties(root, bo, { name: value || undefined });
      parts.unshift(h('h2', {}, '流程', h('span', { className: 'muted element-id' }, ` ${bo.id}`)),
        textField('流程名称', 'name', bo.name || '', rename), this.executable(root, bo));
    }
    return parts;
  }

  executable(element, processBo) {
    const box = h('input', { type: 'checkbox', name: 'isExecutable', checked: processBo.isExecutable === true });
    box.addEventListener('change', () => this.modeling.updateModdleProperties(element, processBo, { isExecutable: box.checked }));
    return h('div', { className: 'prop' }, h('label', { className: 'check' }, box, '可执行（isExecutable）'),
      h('p', { className: 'hint' }, 'govflow 只部署可执行的流程；其他工具画的描述性模型补全后勾选此项'));
  }

  sections(element) {
    const bo = element.businessObject;
    const events = bo.eventDefinitions || [];
    const kind = KINDS[element.type] || element.type.replace('bpmn:', '');
    const parts = [h('h2', {}, kind, h('span', { className: 'muted element-id' }, ` ${bo.id}`))];
    if (element.type !== 'bpmn:TextAnnotation') parts.push(this.nameField(element));
    if (['bpmn:UserTask', 'bpmn:ManualTask'].includes(element.type)) parts.push(...this.humanTask(element));
    if (element.type === 'bpmn:StartEvent' && !events.length) parts.push(this.formField(element, '发起表单'));
    if (element.type === 'bpmn:ServiceTask') parts.push(...this.serviceTask(element));
    if (element.type === 'bpmn:SequenceFlow') parts.push(...this.flow(element));
    const timer = events.find((d) => d.$type === 'bpmn:TimerEventDefinition');
    if (timer) parts.push(...this.timer(element, timer));
    return parts;
  }

  // -- fields ------------------------------------------------------------------------------------------------------
  nameField(element) {
    const update = (value) => this.modeling.updateLabel(element, value || null);
    const name = element.businessObject.name || '';
    if (element.type === 'bpmn:Lane') {
      return textField('泳道名称（办理角色）', 'name', name, update, { list: 'lane-names' },
        '泳道名即组织机构中的角色，该泳道中的任务交给担任此角色的人办理，如 办公室、分管副区长');
    }
    if (element.type === 'bpmn:Participant' && element.businessObject.processRef) {
      return h('div', {}, textField('流程名称', 'name', name, (value) => this.renameProcess(element, value), {}, '池和它的流程同名'),
        this.executable(element, element.businessObject.processRef));
    }
    return textField('名称', 'name', name, update);
  }

  humanTask(element) {
    const bo = element.businessObject;
    const setter = (name) => (value) => this.writer.setProperty(element, name, value);
    return [
      this.formField(element, '表单'),
      textField('结果变量（variableName）', 'variableName', variableName(bo), (v) => this.writer.setVariableName(element, v),
        {}, '表单数据存入此变量；并行分支须各用各的变量'),
      textField('办理期限（dueDate）', DUE, property(bo, DUE), setter(DUE), { placeholder: '例：workdays(3)' },
        'Python 表达式，如 workdays(3) 表示 3 个工作日；留空则不设期限'),
      textField('逾期提级至（escalateTo）', ESCALATE_TO, property(bo, ESCALATE_TO), setter(ESCALATE_TO),
        { list: 'lane-names' }, '逾期任务被催办若干次后，告知此泳道的办理人，如 分管领导'),
      textField('催办几次后提级（escalateAfterPresses）', ESCALATE_AFTER, property(bo, ESCALATE_AFTER),
        setter(ESCALATE_AFTER), { type: 'number', min: 1, max: 100 }, '1 到 100 的整数')
    ];
  }

  formField(element, label) {
    const bo = element.businessObject;
    const open = h('button', { type: 'button', className: 'link' }, '编辑此表单');
    open.addEventListener('click', () => property(bo, FORM) && this.openForm(property(bo, FORM)));
    return textField(`${label}（${FORM}）`, FORM, property(bo, FORM), (v) => this.writer.setProperty(element, FORM, v),
      { list: 'form-files' }, 'forms/ 中的 JSON Schema 文件名', open);
  }

  serviceTask(element) {
    const current = operator(element.businessObject) || {};
    const options = this.page.operators.map((op) => h('option', { value: op.name, selected: current.id === op.name }, op.name));
    const select = h('select', { name: 'operator' }, h('option', { value: '' }, '请选择'), ...options);
    select.addEventListener('change', () => {
      this.writer.setOperator(element, { id: select.value || undefined });
      this.show(element);
    });
    const described = this.page.operators.find((op) => op.name === current.id);
    const parts = [
      field('服务操作（serviceTaskOperator）', select, described ? described.description : '已注册的规则操作'),
      textField('结果变量（resultVariable）', 'resultVariable', current.resultVariable || '',
        (value) => this.writer.setOperator(element, { resultVariable: value || undefined }))
    ];
    for (const parameter of parameters(element.businessObject)) {
      parts.push(textField(`参数 ${parameter.id}`, `parameter-${parameter.id}`, parameter.value || '',
        (value) => this.writer.setParameter(element, parameter, value), {}, parameter.type ? `类型 ${parameter.type}` : ''));
    }
    return parts;
  }

  flow(element) {
    const bo = element.businessObject;
    const source = element.source;
    const branching = BRANCHING.includes(source.type);
    if (!branching && !bo.conditionExpression) return [];
    const isDefault = source.businessObject.default === bo;
    const condition = textField('条件表达式', 'condition', bo.conditionExpression ? bo.conditionExpression.body || '' : '',
      (value) => this.setCondition(element, value), { multiline: true, placeholder: '例：approved == True', disabled: isDefault },
      isDefault ? '默认分支不写条件' : 'Python 表达式，为真时走这条分支');
    if (!branching) return [condition];
    const box = h('input', { type: 'checkbox', name: 'default', checked: isDefault });
    box.addEventListener('change', () => this.setDefault(element, box.checked));
    const other = source.businessObject.default;
    const hint = other && !isDefault ? `现在的默认分支是“${other.name || other.id}”，勾选后它不再是默认分支，须另写条件` : '';
    return [condition, h('div', { className: 'prop' }, h('label', { className: 'check' }, box, '默认分支（其他分支的条件都不成立时走这条）'),
      hint ? h('p', { className: 'hint' }, hint) : null)];
  }

  timer(element, definition) {
    const kind = Object.keys(TIMER_KINDS).find((k) => definition[k]) || 'timeDate';
    const options = Object.entries(TIMER_KINDS).map(([k, label]) => h('option', { value: k, selected: k === kind }, label));
    const select = h('select', { name: 'timerKind' }, ...options);
    const text = textField('定时器', 'timer', definition[kind] ? definition[kind].body || '' : '',
      (value) => this.setTimer(element, definition, select.value, value), { placeholder: '例：workdays(3)' },
      'workdays(3) 为 3 个工作日后；也可写 ISO-8601，如 P3D、2026-12-31T17:00:00+08:00');
    select.addEventListener('change', () => this.setTimer(element, definition, select.value, text.querySelector('input').value));
    return [field('定时器类型', select), text];
  }

  // -- writes ------------------------------------------------------------------------------------------------------
  renameProcess(participant, name) {
    this.modeling.updateLabel(participant, name || null);
    this.modeling.updateModdleProperties(participant, participant.businessObject.processRef, { name: name || undefined });
  }

  setCondition(flow, text) {
    const body = text.trim();
    this.modeling.updateProperties(flow, {
      conditionExpression: body ? this.moddle.create('bpmn:FormalExpression', { body }) : undefined
    });
  }

  setDefault(flow, on) {
    const gateway = flow.source;
    if (on) {
      this.modeling.updateProperties(flow, { conditionExpression: undefined });   // a default branch has no condition
      this.modeling.updateProperties(gateway, { default: flow.businessObject });
    } else if (gateway.businessObject.default === flow.businessObject) {
      this.modeling.updateProperties(gateway, { default: undefined });
    }
    this.show(flow);
  }

  setTimer(element, definition, kind, text) {
    const changes = Object.fromEntries(Object.keys(TIMER_KINDS).map((k) => [k, undefined]));
    changes[kind] = text.trim() ? this.moddle.create('bpmn:FormalExpression', { body: text.trim() }) : undefined;
    this.modeling.updateModdleProperties(element, definition, changes);
  }
}

// -- small DOM helpers -------------------------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const node = Object.assign(document.createElement(tag), attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== ''));
  return node;
}

function field(label, control, hint, extra) {
  return h('div', { className: 'prop' }, h('label', {}, label, control), extra, hint ? h('p', { className: 'hint' }, hint) : null);
}

// a text input (or area) that writes its trimmed value when it changes
function textField(label, name, value, onChange, { multiline = false, list = '', ...attrs } = {}, hint = '', extra = null) {
  const input = h(multiline ? 'textarea' : 'input', { name, value, ...(multiline ? { rows: 3 } : { type: 'text' }), ...attrs });
  if (list) input.setAttribute('list', list);
  input.addEventListener('change', () => onChange(input.value.trim()));
  return field(label, input, hint, extra);
}

function datalist(id, values) {
  return h('datalist', { id }, ...values.map((value) => h('option', { value })));
}
