// Point the widget manager at files in this site's own _static folder. Without these lines it
// would fetch the window viewer's code (an anywidget) from the web, and look for its icon fonts
// in folders that do not exist; a room without internet cannot do the first.
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, ""); // the _static/ folder
  var manager = here + "vendor/html-manager";
  window.requirejs.config({
    paths: {
      anywidget: here + "vendor/anywidget/index",
      // the widget bundles find their fonts beside the address require.js gives their module
      "@jupyter-widgets": manager,
      "@jupyter-widgets/html-manager/dist": manager,
    },
  });
  window.__jupyter_widgets_assets_path__ = manager + "/";

  // The widgets typeset their labels with MathJax 2's MathJax.Hub.Queue; the site ships
  // MathJax 3, which has no Hub. On pages with equations, give it a small stand-in that asks
  // MathJax 3 to typeset the same element. (MathJax loads with "defer", so it is there when the
  // page's DOMContentLoaded event runs; the widgets are drawn after that.)
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub) {
      return;
    }
    mathjax.Hub = {
      Queue: function (job) {
        var element = job && job[2];
        if (mathjax.typesetPromise && mathjax.startup) {
          mathjax.startup.promise.then(function () {
            return mathjax.typesetPromise(element ? [element] : undefined);
          });
        }
      },
    };
  });
})();
