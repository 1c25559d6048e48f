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

// The activity form's contact search: emptying the box clears the chosen contact...
document.addEventListener("input", (event) => {
  const box = event.target;
  if (box.matches && box.matches("[data-contact-search]") && !box.value) {
    box.form.elements.contact.value = "";
  }
});

// ...and a click on a result chooses it.
document.addEventListener("click", (event) => {
  const results = event.target.closest && event.target.closest("[data-contact-results]");
  const choice = results && event.target.closest("[data-contact]");
  if (!choice) return;
  const form = results.closest("form");
  form.elements.contact.value = choice.dataset.contact;
  form.elements.contact_search.value = choice.dataset.label;
  results.innerHTML = "";
});
