/* CoMNIST's reveal: the participant's letters beside the same letters drawn by other people.
   Loaded only at the end of a round or on the thanks page; the drawings are a sheet of thumbnails
   per alphabet (real, sanitised drawings shipped with the site), never fetched from elsewhere. */
(function () {
  "use strict";

  var sheets = {};
  function loadSheet(url) {
    if (!sheets[url]) {
      sheets[url] = new Promise(function (resolve, reject) {
        var image = new Image();
        image.onload = function () { resolve(image); };
        image.onerror = reject;
        image.src = url;
      });
    }
    return sheets[url];
  }

  // The sheet, its row and how many thumbnails it holds for a letter (whatever its alphabet).
  function find(gallery, letter) {
    for (var alphabet in gallery.sheets) {
      var sheet = gallery.sheets[alphabet], row = sheet.letters.indexOf(letter);
      if (row >= 0 && sheet.counts[row] > 0) return { url: sheet.url, row: row, count: sheet.counts[row] };
    }
    return null;
  }

  function cell(label) {
    var canvas = document.createElement("canvas");
    var dpr = window.devicePixelRatio || 1;
    canvas.width = canvas.height = Math.round(64 * dpr);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", label);
    return canvas;
  }

  function show(grid, items, gallery, options) {
    var rows = items.map(function (item) { return { item: item, found: find(gallery, item.letter) }; })
      .filter(function (row) { return row.found; });
    if (!rows.length) return Promise.reject(new Error("no drawings of these letters"));
    var urls = rows.map(function (row) { return row.found.url; });
    return Promise.all(urls.map(loadSheet)).then(function (images) {
      grid.textContent = "";
      var list = document.createElement("ul");
      rows.forEach(function (row, i) {
        var line = document.createElement("li");
        var name = document.createElement("span");
        name.className = "reveal-letter";
        name.textContent = row.item.letter;
        line.appendChild(name);
        var own = cell(options.you + ": " + row.item.letter);
        own.className = "mine";
        options.draw(own.getContext("2d"), row.item, 0, 0, own.width);
        line.appendChild(own);
        for (var k = 0; k < row.found.count; k++) {
          var other = cell(row.item.letter + " (" + (k + 1) + ")");
          var c = other.getContext("2d"), size = gallery.cell;
          c.imageSmoothingQuality = "high";
          c.drawImage(images[i], k * size, row.found.row * size, size, size, 0, 0, other.width, other.height);
          line.appendChild(other);
        }
        list.appendChild(line);
      });
      grid.appendChild(list);
    });
  }

  window.comnistReveal = { show: show };
})();
