/* CoMNIST service worker: the site opens and works with no network (a meetup kiosk, a train).
   Pages come from the network when it answers and from the cache when it does not; hashed assets
   never change, so the cache answers them. The API is never cached: the page's upload queue
   delivers drawings exactly once when the network is back. */
"use strict";

var CACHE = "comnist-{{ version }}";
var PRECACHE = {{ precache|tojson }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(PRECACHE); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name.indexOf("comnist-") === 0 && name !== CACHE; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (url.pathname.indexOf("/assets/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !url.search) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { ignoreSearch: true }).then(function (hit) {
      return hit || caches.match(url.pathname.replace(/[^/]*$/, ""));
    }).then(function (hit) { return hit || Response.error(); });
  }));
});
