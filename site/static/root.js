/* The site's root: open the page in the language asked for (?ru, ?cn...) or the browser's. */
(function () {
  "use strict";
  var root = document.documentElement;
  var langs = root.getAttribute("data-languages").split(" ");
  var query = location.search.replace(/^\?/, "").split(/[&=]/)[0].toLowerCase();
  var aliases = { cn: "zh" };
  query = aliases[query] || query;
  var pick = langs.indexOf(query) >= 0 ? query : null;
  if (!pick) {
    var wanted = navigator.languages || [navigator.language || "en"];
    for (var i = 0; i < wanted.length && !pick; i++) {
      var code = String(wanted[i]).slice(0, 2).toLowerCase();
      if (langs.indexOf(code) >= 0) pick = code;
    }
  }
  location.replace(root.getAttribute("data-base") + "/" + (pick || "en") + "/");
})();
