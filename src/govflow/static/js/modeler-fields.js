// The form's fields as a list a designer edits without writing JSON: name, title, kind, required,
// the choices of a choice field; rows added, removed and moved. Each change rewrites the JSON text
// (which stays editable beside it for what the list does not cover) and the preview follows.

const KINDS = {
  text: { label: '单行文字', schema: { type: 'string', maxLength: 200 } },
  textarea: { label: '多行文字', schema: { type: 'string', maxLength: 2000 } },
  number: { label: '数字', schema: { type: 'number' } },
  integer: { label: '整数', schema: { type: 'integer' } },
  date: { label: '日期', schema: { type: 'string', format: 'date' } },
  boolean: { label: '是/否', schema: { type: 'boolean' } },
  choice: { label: '单选', schema: { type: 'string' } },
  department: { label: '部门', schema: { type: 'string', format: 'department' } },
  person: { label: '人员', schema: { type: 'string', format: 'person' } }
};
const SHAPE = ['type', 'format', 'maxLength', 'enum'];     // what the kind decides; other keys are kept
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function kindOf(spec) {
  if (Array.isArray(spec.enum)) return 'choice';
  if (spec.format === 'department' || spec.format === 'person' || spec.format === 'date') return spec.format;
  if (spec.type === 'integer' || spec.type === 'number' || spec.type === 'boolean') return spec.type;
  if (spec.type === 'string') return (spec.maxLength || 0) > 200 ? 'textarea' : 'text';
  return null;                                           // objects, lists: edited in the JSON text
}

export class FieldList {
  constructor(root, onChange) {
    this.root = root;
    this.onChange = onChange;        // (new JSON text) => void
  }

  show(text) {
    let schema;
    try {
      schema = JSON.parse(text);
    } catch (err) {
      this.root.replaceChildren(h('p', { className: 'muted' }, '表单 JSON 有误，改正后可按字段编辑。'));
      return;
    }
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
      this.root.replaceChildren(h('p', { className: 'muted' }, '表单须是 JSON 对象。'));
      return;
    }
    this.schema = schema;
    const required = new Set(schema.required || []);
    const rows = Object.entries(schema.properties || {}).map(([name, spec], index, all) =>
      this.row(name, spec || {}, required.has(name), index, all.length));
    const add = h('button', { type: 'button', className: 'add-field', textContent: '添加字段' });
    add.addEventListener('click', () => this.change((props, req) => {
      let n = Object.keys(props).length + 1;
      while (`field_${n}` in props) n += 1;
      props[`field_${n}`] = { ...KINDS.text.schema, title: '新字段' };
      return [props, req];
    }));
    const head = h('tr', {}, ...['字段名', '标题', '类型', '必填', '选项（用顿号分隔）', ''].map((t) => h('th', { textContent: t })));
    this.root.replaceChildren(h('table', { className: 'field-list' }, h('thead', {}, head), h('tbody', {}, ...rows)), add,
      h('p', { className: 'muted', id: 'field-message' }));
  }

  row(name, spec, isRequired, index, count) {
    const kind = kindOf(spec);
    const nameInput = h('input', { name: 'field-name', value: name, size: 12 });
    nameInput.addEventListener('change', () => this.rename(name, nameInput.value.trim()));
    const title = h('input', { name: 'field-title', value: spec.title || '', size: 14 });
    title.addEventListener('change', () => this.update(name, (s) => ({ ...s, title: title.value.trim() || undefined })));
    const type = h('select', { name: 'field-kind', disabled: !kind },
      ...(kind ? [] : [h('option', { textContent: '（在 JSON 中编辑）', selected: true })]),
      ...Object.entries(KINDS).map(([k, { label }]) => h('option', { value: k, textContent: label, selected: k === kind })));
    type.addEventListener('change', () => this.update(name, (s) => reshape(s, type.value)));
    const req = h('input', { type: 'checkbox', name: 'field-required', checked: isRequired });
    req.addEventListener('change', () => this.change((props, list) => [props, req.checked ? [...list, name] : list.filter((n) => n !== name)]));
    const options = h('input', { name: 'field-options', value: (spec.enum || []).join('、'), disabled: kind !== 'choice', size: 16 });
    options.addEventListener('change', () => this.update(name, (s) => ({ ...s, enum: split(options.value) })));
    const up = h('button', { type: 'button', textContent: '上移', disabled: index === 0 });
    up.addEventListener('click', () => this.move(name, -1));
    const down = h('button', { type: 'button', textContent: '下移', disabled: index === count - 1 });
    down.addEventListener('click', () => this.move(name, 1));
    const remove = h('button', { type: 'button', textContent: '删除' });
    remove.addEventListener('click', () => this.change((props, list) => {
      delete props[name];
      return [props, list.filter((n) => n !== name)];
    }));
    return h('tr', { dataset: { field: name } }, ...[nameInput, title, type, req, options, h('span', {}, up, down, remove)]
      .map((control) => h('td', {}, control)));
  }

  rename(old, name) {
    if (!NAME.test(name) || (name !== old && name in (this.schema.properties || {}))) {
      document.getElementById('field-message').textContent =
        `字段名“${name}”不可用：须以英文字母或下划线开头，只含英文字母、数字和下划线，且不与其他字段重名`;
      return;
    }
    this.change((props, list) => [Object.fromEntries(Object.entries(props).map(([k, v]) => [k === old ? name : k, v])),
      list.map((n) => (n === old ? name : n))]);
  }

  move(name, step) {
    this.change((props, list) => {
      const entries = Object.entries(props);
      const at = entries.findIndex(([k]) => k === name);
      const [moved] = entries.splice(at, 1);
      entries.splice(at + step, 0, moved);
      return [Object.fromEntries(entries), list];
    });
  }

  update(name, edit) {
    this.change((props, list) => {
      props[name] = edit({ ...props[name] });
      return [props, list];
    });
  }

  change(edit) {
    const [properties, required] = edit({ ...(this.schema.properties || {}) }, [...(this.schema.required || [])]);
    const schema = { ...this.schema, type: 'object', properties };
    if (required.length) schema.required = required; else delete schema.required;
    this.onChange(JSON.stringify(schema, null, 2));
  }
}

function reshape(spec, kind) {
  const kept = Object.fromEntries(Object.entries(spec).filter(([k]) => !SHAPE.includes(k)));
  const shaped = { ...kept, ...KINDS[kind].schema };
  if (kind === 'choice') shaped.enum = spec.enum && spec.enum.length ? spec.enum : ['选项一', '选项二'];
  return shaped;
}

function split(text) {
  return text.split(/[、,，;；\n]/).map((s) => s.trim()).filter(Boolean);
}

function h(tag, attrs, ...children) {
  const { dataset, ...rest } = attrs || {};
  const node = Object.assign(document.createElement(tag), rest);
  Object.assign(node.dataset, dataset || {});
  node.append(...children);
  return node;
}
