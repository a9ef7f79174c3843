// Table fields of a task form (议定事项, 请假人员 …): 添加一行 clones the blank row with the next free
// index in its field names; 删除 drops a row (the server reads the indices that are left).
document.addEventListener("click", (event) => {
  const add = event.target.closest("button.add-row");
  if (add) {
    const fieldset = add.closest("fieldset.rows");
    const template = fieldset.querySelector(":scope > template");
    const blank = template.content.querySelector("tr").querySelector("[name]").name;
    const index = blank.slice(fieldset.dataset.name.length + 1).split(".")[0];
    const next = fieldset.dataset.next;
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelectorAll("[name]").forEach((input) => {
      input.name = input.name.replace(`${fieldset.dataset.name}.${index}.`, `${fieldset.dataset.name}.${next}.`);
      input.id = input.name;
    });
    fieldset.querySelector(":scope > table > tbody").append(row);
    fieldset.dataset.next = Number(next) + 1;
    row.querySelector("input, select, textarea")?.focus();
    return;
  }
  const remove = event.target.closest("button.remove-row");
  if (remove) {
    remove.closest("tr").remove();
  }
});
