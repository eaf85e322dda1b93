/* CoMNIST letter guess: the sanitizer's letter check (sanitizer/recognizer.py), step for step.
   Every step reproduces the Python arithmetic: Pillow's fixed-point box reduction and bilinear
   warps, numpy's float32 (Math.fround) and float64 steps. No dependencies, no network but the
   model file. */
(function () {
  "use strict";

  var f32 = Math.fround;
  var PI32 = f32(Math.PI);

  // ---- strokes to ink: sanitizer.recognizer.stroke_ink ----
  function strokeAlpha(strokes, width, height, size, lineWidth) {
    var alpha = new Uint8Array(size * size);
    var scale = size / Math.max(width, height);
    var dx = (size - width * scale) / 2, dy = (size - height * scale) / 2;
    var edge = lineWidth / 2 + 0.5;
    strokes.forEach(function (stroke) {
      var n = stroke[0].length;
      if (!n) return;
      var xs = [], ys = [];
      for (var p = 0; p < n; p++) { xs.push(stroke[0][p] * scale + dx); ys.push(stroke[1][p] * scale + dy); }
      var segments = Math.max(n - 1, 1);
      for (var i = 0; i < segments; i++) {
        var j = Math.min(i + 1, n - 1);
        var ax = xs[i], ay = ys[i], bx = xs[j], by = ys[j];
        var left = Math.max(Math.floor(Math.min(ax, bx) - edge), 0);
        var right = Math.min(Math.ceil(Math.max(ax, bx) + edge) + 1, size);
        var top = Math.max(Math.floor(Math.min(ay, by) - edge), 0);
        var bottom = Math.min(Math.ceil(Math.max(ay, by) + edge) + 1, size);
        var vx = bx - ax, vy = by - ay, length2 = vx * vx + vy * vy;
        for (var y = top; y < bottom; y++) {
          var wy = (y + 0.5) - ay;
          for (var x = left; x < right; x++) {
            var wx = (x + 0.5) - ax;
            var t = length2 > 0 ? Math.min(Math.max((wx * vx + wy * vy) / length2, 0), 1) : 0;
            var qx = wx - t * vx, qy = wy - t * vy;
            var cover = Math.min(Math.max(edge - Math.sqrt(qx * qx + qy * qy), 0), 1);
            var value = Math.floor(cover * 255 + 0.5);
            if (value > alpha[y * size + x]) alpha[y * size + x] = value;
          }
        }
      }
    });
    return alpha;
  }

  // uint8 v read as float32 v / 255, as numpy does after decoding or for a picture.
  var INK = new Float32Array(256), TO_BYTE = new Uint8Array(256), ROUNDED = new Uint8Array(256);
  for (var v = 0; v < 256; v++) {
    INK[v] = f32(v / 255);
    TO_BYTE[v] = Math.trunc(Math.min(Math.max(f32(INK[v] * 255), 0), 255)); // clip().astype(uint8)
    var r = f32(INK[v] * 255), fl = Math.floor(r);
    ROUNDED[v] = r - fl === 0.5 ? (fl % 2 ? fl + 1 : fl) : Math.round(r);  // np.round: half to even
  }

  // ---- Pillow's resize with the BOX filter on an 8-bit image (Resample.c) ----
  function boxCoefficients(inSize, outSize) {
    var scale = inSize / outSize, filterscale = Math.max(scale, 1);
    var support = 0.5 * filterscale;
    var bounds = [], kk = [];
    for (var xx = 0; xx < outSize; xx++) {
      var center = (xx + 0.5) * scale, ss = 1 / filterscale, ww = 0, k = [];
      var xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      var xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      for (var x = 0; x < xmax; x++) {
        var arg = ((x + xmin) - center + 0.5) * ss;
        var w = arg > -0.5 && arg <= 0.5 ? 1 : 0;
        k.push(w);
        ww += w;
      }
      for (x = 0; x < xmax; x++) {
        if (ww !== 0) k[x] /= ww;
        k[x] = Math.trunc(0.5 + k[x] * 4194304);  // 1 << PRECISION_BITS (22)
      }
      bounds.push([xmin, xmax]);
      kk.push(k);
    }
    return { bounds: bounds, kk: kk };
  }

  function clip8(ss) { return Math.min(Math.max(Math.floor(ss / 4194304), 0), 255); }

  function resizeBox(src, side, out) {
    var c = boxCoefficients(side, out);
    var tmp = new Uint8Array(side * out), dst = new Uint8Array(out * out), x, y, i, ss, b, k;
    for (y = 0; y < side; y++) {
      for (x = 0; x < out; x++) {
        b = c.bounds[x]; k = c.kk[x]; ss = 2097152;
        for (i = 0; i < b[1]; i++) ss += src[y * side + b[0] + i] * k[i];
        tmp[y * out + x] = clip8(ss);
      }
    }
    for (y = 0; y < out; y++) {
      b = c.bounds[y]; k = c.kk[y];
      for (x = 0; x < out; x++) {
        ss = 2097152;
        for (i = 0; i < b[1]; i++) ss += tmp[(b[0] + i) * out + x] * k[i];
        dst[y * out + x] = clip8(ss);
      }
    }
    return dst;
  }

  // ---- sanitizer.features.normalised_image: the inked box, centred in a square, reduced ----
  var THRESHOLD = f32(0.2);
  function normalised(bytes, side, out) {
    var top = side, left = side, bottom = -1, right = -1, x, y;
    for (y = 0; y < side; y++) {
      for (x = 0; x < side; x++) {
        if (INK[bytes[y * side + x]] > THRESHOLD) {
          if (y < top) top = y;
          if (y > bottom) bottom = y;
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
    }
    if (bottom < 0) return null;
    var h = bottom - top + 1, w = right - left + 1, square = Math.max(h, w);
    var oy = Math.floor((square - h) / 2), ox = Math.floor((square - w) / 2);
    var padded = new Uint8Array(square * square);
    for (y = 0; y < h; y++) {
      for (x = 0; x < w; x++) padded[(y + oy) * square + x + ox] = TO_BYTE[bytes[(y + top) * side + x + left]];
    }
    return resizeBox(padded, square, out);
  }

  // ---- sanitizer.augment.distort: Pillow's AFFINE transform with BILINEAR filtering ----
  function warp(picture, side, a) {
    var size = 2 * side, offset = side / 2, canvas = new Uint8Array(size * size), out = new Uint8Array(size * size);
    for (var y = 0; y < side; y++) {
      for (var x = 0; x < side; x++) canvas[(y + offset) * size + x + offset] = picture[y * side + x];
    }
    function at(xx, yy) { return canvas[yy * size + xx]; }
    function clip(v) { return v < 0 ? 0 : v < size ? v : size - 1; }
    for (var oy = 0; oy < size; oy++) {
      for (var ox = 0; ox < size; ox++) {
        var xin = a[0] * (ox + 0.5) + a[1] * (oy + 0.5) + a[2];
        var yin = a[3] * (ox + 0.5) + a[4] * (oy + 0.5) + a[5];
        if (xin < 0 || xin >= size || yin < 0 || yin >= size) continue;
        xin -= 0.5;
        yin -= 0.5;
        var ix = Math.floor(xin), iy = Math.floor(yin), dx = xin - ix, dy = yin - iy;
        var x0 = clip(ix), x1 = clip(ix + 1), row = clip(iy);
        var v1 = at(x0, row) + (at(x1, row) - at(x0, row)) * dx;
        var v2 = iy + 1 >= 0 && iy + 1 < size ? at(x0, iy + 1) + (at(x1, iy + 1) - at(x0, iy + 1)) * dx : v1;
        out[oy * size + ox] = Math.trunc(v1 + (v2 - v1) * dy);
      }
    }
    return out;
  }

  // ---- sanitizer.features.orientation_histograms of one float32 square ----
  function histograms(square, side, cells, bins, diagonal) {
    var g = new Float32Array(side * side);
    for (var i = 0; i < g.length; i++) g[i] = INK[square[i]];
    function grad(i, last, stride, p) {  // numpy.gradient: central inside, one-sided at edges
      if (p === 0) return f32(g[i + stride] - g[i]);
      if (p === last) return f32(g[i] - g[i - stride]);
      return f32(f32(g[i + stride] - g[i - stride]) / 2);
    }
    var sums = new Float64Array(cells * cells * bins), step = side / cells;
    for (var y = 0; y < side; y++) {
      for (var x = 0; x < side; x++) {
        var k = y * side + x;
        var gx = grad(k, side - 1, 1, x), gy = grad(k, side - 1, side, y);
        var magnitude = f32(Math.sqrt(gx * gx + gy * gy));
        var bin;
        if (gx !== 0 && Math.abs(gx) === Math.abs(gy)) {
          bin = diagonal[gx > 0 ? (gy > 0 ? 0 : 3) : (gy > 0 ? 1 : 2)];
        } else {
          var angle = f32(Math.atan2(gy, gx));
          if (angle < 0) angle = f32(angle + PI32);
          else if (angle >= PI32) angle = 0;
          bin = Math.min(Math.trunc(f32(f32(angle / PI32) * bins)), bins - 1);
        }
        sums[(Math.floor(y / step) * cells + Math.floor(x / step)) * bins + bin] += magnitude;
      }
    }
    var norm = 0, out = new Float64Array(sums.length);
    for (i = 0; i < sums.length; i++) { out[i] = Math.sqrt(sums[i]); norm += out[i] * out[i]; }
    norm = Math.max(Math.sqrt(norm), 1e-6);
    for (i = 0; i < out.length; i++) out[i] = f32(cells * out[i] / norm);
    return out;
  }

  // ---- the model file (sanitizer.recognizer.export_recognizer) ----
  function parseModel(buffer) {
    var bytes = new Uint8Array(buffer);
    if (String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]) !== "CMNR") throw new Error("not a recognizer file");
    var length = new DataView(buffer).getUint32(4, true);
    var header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
    var offset = 8 + length, k = header.labels.length;
    header.judges = header.classifiers.map(function (spec) {
      var w1 = dequantise(new Int8Array(buffer, offset, spec.inputs * spec.hidden), spec.w1_scale);
      offset += spec.inputs * spec.hidden;
      var w2 = dequantise(new Int8Array(buffer, offset, spec.hidden * k), spec.w2_scale);
      offset += spec.hidden * k;
      return { inputs: spec.inputs, hidden: spec.hidden, w1: w1, b1: spec.b1, w2: w2, b2: spec.b2 };
    });
    return header;
  }

  function dequantise(q, scale) {
    var w = new Float64Array(q.length), columns = scale.length;
    for (var i = 0; i < q.length; i++) w[i] = q[i] * scale[i % columns];
    return w;
  }

  // LetterClassifier.log_probabilities for one descriptor row.
  function logProbabilities(judge, x, k) {
    var hidden = new Float64Array(judge.hidden), z = new Float64Array(k), i, j;
    for (i = 0; i < judge.inputs; i++) {
      var xi = x[i];
      if (xi === 0) continue;
      for (j = 0; j < judge.hidden; j++) hidden[j] += xi * judge.w1[i * judge.hidden + j];
    }
    for (j = 0; j < judge.hidden; j++) hidden[j] = Math.max(hidden[j] + judge.b1[j], 0);
    for (j = 0; j < k; j++) z[j] = judge.b2[j];
    for (i = 0; i < judge.hidden; i++) {
      if (!hidden[i]) continue;
      for (j = 0; j < k; j++) z[j] += hidden[i] * judge.w2[i * k + j];
    }
    var top = -Infinity, total = 0;
    for (j = 0; j < k; j++) top = Math.max(top, z[j]);
    for (j = 0; j < k; j++) total += Math.exp(z[j] - top);
    var log = Math.log(total);
    for (j = 0; j < k; j++) z[j] = z[j] - top - log;
    return z;
  }

  var model = null;

  /* Letters with probabilities, likeliest first, for strokes in the API's format
     ([[x...], [y...], [t...]] in CSS pixels of a width x height canvas); [] when blank. */
  function classify(strokes, width, height) {
    if (!model) return [];
    var side = model.picture_side, k = model.labels.length;
    var alpha = strokeAlpha(strokes, width, height, model.ink.size, model.ink.line_width);
    var picture = normalised(alpha, model.ink.size, side);
    if (!picture) return [];
    for (var i = 0; i < picture.length; i++) picture[i] = ROUNDED[picture[i]];
    var mean = new Float64Array(k), count = 0;
    model.views.forEach(function (coefficients) {
      var square = normalised(warp(picture, side, coefficients), 2 * side, model.descriptor_side);
      var row = square ? histograms(square, model.descriptor_side, model.cells, model.bins, model.diagonal_bins)
                       : new Float64Array(model.cells * model.cells * model.bins);
      model.judges.forEach(function (judge) {
        var log = logProbabilities(judge, row, k);
        for (var j = 0; j < k; j++) mean[j] += log[j];
        count += 1;
      });
    });
    var top = -Infinity, total = 0, p = [];
    for (var j = 0; j < k; j++) { mean[j] /= count; top = Math.max(top, mean[j]); }
    for (j = 0; j < k; j++) { p.push(Math.exp(mean[j] - top)); total += p[j]; }
    return model.labels.map(function (label, j) { return { letter: label, p: p[j] / total }; })
      .sort(function (a, b) { return b.p - a.p; });
  }

  function load(url) {
    return fetch(url).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.arrayBuffer();
    }).then(function (buffer) {
      model = parseModel(buffer);
      window.comnistRecognizer.alphabet = model.alphabet;
      window.comnistRecognizer.notALetter = model.not_a_letter;
      return model.labels.slice();
    });
  }

  window.comnistRecognizer = { load: load, classify: classify, alphabet: null, notALetter: null };
})();
