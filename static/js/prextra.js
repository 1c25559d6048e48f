/* Prextra's behaviour on the pages, without inline script: the Content-Security-Policy allows
   only scripts from this site ('self'), so handlers live here and find their elements by data-
   attributes. */
"use strict";

// A dialog marked data-remove-on-close leaves the page when it closes (Escape, its buttons).
document.addEventListener("close", (event) => {
  if (event.target.matches && event.target.matches("dialog[data-remove-on-close]")) {
    event.target.remove();
  }
}, true);

// A slot marked data-dialog-slot opens the dialog htmx has just put in it as a modal.
document.addEventListener("htmx:afterSettle", (event) => {
  const slot = event.target.closest && event.target.closest("[data-dialog-slot]");
  const dialog = slot && slot.querySelector("dialog");
  if (dialog && !dialog.open) dialog.showModal();
});

// The menu: one section open at a time; Escape or a click elsewhere closes it.
function closeMenus(except) {
  for (const section of document.querySelectorAll("details[data-menu-section][open]")) {
    if (section !== except) section.open = false;
  }
}

document.addEventListener("toggle", (event) => {
  if (event.target.matches && event.target.matches("details[data-menu-section]") && event.target.open) {
    closeMenus(event.target);
  }
}, true);

document.addEventListener("click", (event) => {
  closeMenus(event.target.closest && event.target.closest("details[data-menu-section]"));
});

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const section = event.target.closest && event.target.closest("details[data-menu-section][open]");
  closeMenus(null);
  if (section) section.querySelector("summary").focus();  // the keyboard user stays where the menu was
});

// A picker, a combobox: a search box marked data-picker="<field>" whose results (its
// aria-controls, marked data-picker-results) are options carrying data-value and data-label;
// choosing one puts its value in the form's <field>. The activity dialog's contact picker and the
// contact page's record picker are two of them. The focus stays in the box. The choice holds as
// long as the box shows its label (data-picker-chosen): emptying the box, or typing something
// else, clears the field, so the form never sends a choice the box no longer shows...
document.addEventListener("input", (event) => {
  const box = event.target;
  if (!box.matches || !box.matches("[data-picker]")) return;
  if (!box.value || (box.dataset.pickerChosen && box.value !== box.dataset.pickerChosen)) {
    box.form.elements[box.dataset.picker].value = "";
    box.dataset.pickerChosen = "";
  }
});

function pickerResults(box) {
  return document.getElementById(box.getAttribute("aria-controls"));
}

function pickerOptions(box) {
  return Array.from(pickerResults(box).querySelectorAll("[role=option][data-value]"));
}

function closePicker(box) {
  pickerResults(box).innerHTML = "";
  box.setAttribute("aria-expanded", "false");
  box.removeAttribute("aria-activedescendant");
}

function choose(box, choice) {
  box.form.elements[box.dataset.picker].value = choice.dataset.value;
  box.value = choice.dataset.label;
  box.dataset.pickerChosen = choice.dataset.label;
  closePicker(box);
  box.focus();
}

function highlight(box, options, index) {
  options.forEach((option, at) => option.setAttribute("aria-selected", at === index ? "true" : "false"));
  box.setAttribute("aria-activedescendant", options[index].id);
  options[index].scrollIntoView({ block: "nearest" });
}

// ...new results open the list box (none highlighted yet)...
document.addEventListener("htmx:afterSwap", (event) => {
  if (!event.target.matches || !event.target.matches("[data-picker-results]")) return;
  const box = document.querySelector(`[aria-controls="${event.target.id}"]`);
  box.setAttribute("aria-expanded", event.target.children.length ? "true" : "false");
  box.removeAttribute("aria-activedescendant");
});

// ...↓ and ↑ move through them, Entrée chooses the highlighted one, Échap closes them...
document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (!box.matches || !box.matches("[data-picker]")) return;
  const options = pickerOptions(box);
  const current = options.findIndex((option) => option.getAttribute("aria-selected") === "true");
  if ((event.key === "ArrowDown" || event.key === "ArrowUp") && options.length) {
    const step = event.key === "ArrowDown" ? 1 : -1;
    highlight(box, options, current < 0 ? (step > 0 ? 0 : options.length - 1)
      : (current + step + options.length) % options.length);
  } else if (event.key === "Enter" && current >= 0) {
    choose(box, options[current]);  // and not the form's submission
  } else if (event.key === "Escape" && box.getAttribute("aria-expanded") === "true") {
    closePicker(box);  // a dialog around it stays open: a second Escape closes it
  } else {
    return;
  }
  event.preventDefault();
});

// ...and so does a click, which leaves the focus in the box.
document.addEventListener("mousedown", (event) => {
  if (event.target.closest && event.target.closest("[data-picker-results]")) event.preventDefault();
});

document.addEventListener("click", (event) => {
  const results = event.target.closest && event.target.closest("[data-picker-results]");
  const choice = results && event.target.closest("[role=option][data-value]");
  if (!choice) return;
  choose(document.querySelector(`[aria-controls="${results.id}"]`), choice);
});

// A request htmx makes by itself (hx-trigger="every …": no event started it) is no activity of
// the person: the server does not count it against « Expiration de la connexion » (R2).
document.addEventListener("htmx:configRequest", (event) => {
  if (!event.detail.triggeringEvent) event.detail.headers["X-Prextra-Poll"] = "1";
});
