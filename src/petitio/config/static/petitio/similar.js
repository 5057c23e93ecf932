// While a creator types the action and background, show similar petitions.
// Progressive enhancement: without JavaScript the list appears after submitting.
(function () {
  "use strict";
  var panel = document.getElementById("similar-panel");
  var list = document.getElementById("similar-list");
  var action = document.getElementById("id_action");
  var background = document.getElementById("id_background");
  if (!panel || !list || !action || !background || !window.fetch) { return; }
  var timer = null;
  var last = "";
  function render(petitions) {
    list.textContent = "";
    petitions.forEach(function (p) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = p.url;
      link.textContent = p.action;
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = " (" + p.state + ", " + p.signature_count + " signatures)";
      item.appendChild(link);
      item.appendChild(meta);
      list.appendChild(item);
    });
    panel.hidden = petitions.length === 0;
  }
  function lookup() {
    var text = (action.value + " " + background.value).trim();
    if (text === last || text.length < 4) { return; }
    last = text;
    fetch(panel.dataset.similarUrl + "?q=" + encodeURIComponent(text), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {petitions: []}; })
      .then(function (data) { render(data.petitions); })
      .catch(function () {});
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(lookup, 400); }
  action.addEventListener("input", schedule);
  background.addEventListener("input", schedule);
}());
