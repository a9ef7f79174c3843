// A read-only BPMN diagram (bpmn-js NavigatedViewer, global BpmnJS) in each element with
// data-diagram-url, its elements marked from data-markers: {"done": [ids], "current": [ids], "taken": [ids]}.
// The element's data-state becomes "ready" once the diagram is drawn and marked, or "failed".
(function () {
  "use strict";

  async function show(container) {
    const markers = JSON.parse(container.dataset.markers || "{}");
    container.textContent = "";
    const viewer = new BpmnJS({ container: container });
    try {
      const response = await fetch(container.dataset.diagramUrl, { credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      await viewer.importXML(await response.text());
      const canvas = viewer.get("canvas");
      const registry = viewer.get("elementRegistry");
      for (const [marker, ids] of Object.entries(markers)) {
        ids.map((id) => registry.get(id)).filter(Boolean).forEach((element) => {
          canvas.addMarker(element, marker);
          // An expanded sub-process keeps its background, so that the steps inside stay readable.
          if (element.type === "bpmn:SubProcess" && !element.collapsed) canvas.addMarker(element, "container");
        });
      }
      canvas.zoom("fit-viewport", "auto");
      container.dataset.state = "ready";
    } catch (err) {
      container.dataset.state = "failed";
      const note = document.createElement("p");
      note.className = "error";
      note.textContent = "流程图载入失败：" + err.message;
      container.replaceChildren(note);
    }
  }

  document.querySelectorAll("[data-diagram-url]").forEach(show);
})();
