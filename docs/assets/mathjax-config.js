// MathJax reads this before it loads (the script after this one, shipped with the site):
// it typesets only what pymdownx.arithmatex marked as math, \( \) inline and \[ \] as blocks.
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true, processEnvironments: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};
