// Printing shows everything: every <details> (dropdowns, hidden inputs, sphinx-exercise solutions) opens and
// every block sphinx-togglebutton hides is shown. `make pdf` calls bookExpandAll() itself before printing.
window.bookExpandAll = function () {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((e) => e.classList.remove("toggle-hidden"));
  document.querySelectorAll(".toggle-details__container").forEach((e) => { e.style.display = "block"; });
};
window.addEventListener("beforeprint", window.bookExpandAll);
