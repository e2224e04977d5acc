/* convvis-ko: loaded between require.js and the widget bundle (embed-amd.js) on pages with widgets.
   1. require.js resolves the bundle's modules (and the Font Awesome fonts next to them) against baseUrl,
      by default the page's own folder: point it at the self-hosted vendor/widgets/ instead.
   2. ipywidgets typesets HTML widgets with the MathJax 2 call MathJax.Hub.Queue(...); the book loads
      MathJax 3, which has no Hub. Provide a small Hub that forwards to MathJax 3's typesetPromise. It is
      installed on "load", before the bundle renders the widgets (its "load" listener is added later). */
(function () {
  var root = document.documentElement.getAttribute("data-content_root") || "";
  require.config({ baseUrl: root + "vendor/widgets/" });

  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub) return;
    mj.Hub = {
      Queue: function () {
        var elements = Array.prototype.slice.call(arguments)
          .filter(function (job) { return Array.isArray(job) && job[0] === "Typeset" && job[2]; })
          .map(function (job) { return job[2]; });
        var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
        return ready.then(function () {
          if (elements.length && mj.typesetPromise) return mj.typesetPromise(elements);
        });
      },
    };
  });
})();
