// The forms the diagram names. The page holds the text of each form this version was deployed with
// and of each form edited here; validate and deploy send all of them, so forms are versioned with
// the diagram. A form the page does not hold is read from forms/ and held once it is edited.
import { FORM, property } from './modeler-extensions.js';
import { FieldList } from './modeler-fields.js';
import { get, post } from './modeler-http.js';

export class FormsPanel {
  constructor(modeler, page) {
    this.registry = modeler.get('elementRegistry');
    this.page = page;
    this.held = { ...page.forms };
    this.edited = new Set(page.version ? [] : Object.keys(page.forms));
    this.disk = {};
    this.current = null;
    this.list = document.getElementById('form-list');
    this.editor = document.querySelector('.form-editor');
    this.text = document.getElementById('form-text');
    this.message = document.getElementById('form-message');
    this.preview = document.getElementById('form-preview');
    this.fields = new FieldList(document.getElementById('form-fields'), (text) => {
      this.text.value = text;
      this.edit();
      this.check();
    });
    this.text.addEventListener('input', () => this.edit());
    document.getElementById('form-check').addEventListener('click', () => this.check());
    modeler.get('eventBus').on('commandStack.changed', () => this.refresh());
    this.refresh();
  }

  // what validate and deploy send along
  forms() {
    return { ...this.held };
  }

  named() {
    const names = this.registry.getAll().map((element) => element.businessObject && property(element.businessObject, FORM));
    return [...new Set(names.filter(Boolean))].sort();
  }

  refresh() {
    const items = this.named().map((name) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = name;
      button.addEventListener('click', () => this.open(name));
      const item = document.createElement('li');
      item.dataset.form = name;
      item.classList.toggle('current', name === this.current);
      item.classList.toggle('edited', this.edited.has(name));
      item.append(button);
      return item;
    });
    this.list.replaceChildren(...items);
    if (!items.length) this.list.append(Object.assign(document.createElement('li'), { className: 'muted', textContent: '流程图尚未引用表单' }));
  }

  async open(name) {
    this.current = name;
    this.editor.hidden = false;
    this.preview.parentElement.hidden = false;
    document.getElementById('form-name').textContent = name;
    this.preview.replaceChildren();
    this.say('', '');
    this.editor.scrollIntoView({ behavior: 'smooth', block: 'start' });
    this.refresh();
    if (!(name in this.held) && !(name in this.disk)) {
      const answer = await get(this.page.urls.form.replace('NAME', encodeURIComponent(name)));
      if (!answer.ok) {
        this.text.value = '';
        this.source();
        this.offerNew(answer.message);
        return;
      }
      this.disk[name] = answer.text;
    }
    this.text.value = this.held[name] ?? this.disk[name];
    this.fields.show(this.text.value);
    this.source();
    this.check();
  }

  offerNew(message) {
    const create = Object.assign(document.createElement('button'), { type: 'button', textContent: '新建此表单' });
    create.addEventListener('click', () => {
      this.text.value = this.page.starterForm;
      this.edit();
      this.check();
    });
    this.say('error', `${message}。`);
    this.message.append(create);
  }

  edit() {
    this.fields.show(this.text.value);
    this.held[this.current] = this.text.value;
    this.edited.add(this.current);
    this.source();
    this.refresh();
  }

  source() {
    const name = this.current;
    const where = this.edited.has(name) ? '已修改，部署时随流程图提交' : name in this.held ? '本版本部署时所存' : name in this.disk ? 'forms/ 目录中的文件' : '';
    document.getElementById('form-source').textContent = where;
  }

  async check() {
    const answer = await post(this.page.urls.preview, { name: this.current, text: this.text.value }, this.page.csrf);
    if (!answer.ok) {
      this.preview.replaceChildren();
      this.say('error', answer.message);
      return;
    }
    this.say('ok', '表单格式正确。');
    this.preview.innerHTML = answer.html;     // rendered by the server from the schema, escaped there
  }

  say(kind, text) {
    this.message.className = kind;
    this.message.textContent = text;
  }
}
