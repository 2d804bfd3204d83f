/* fieldops' service worker for Web Push: show each push as a notification, and open its
   page when it is tapped. The payload is JSON: {title, body, url, tag}. */
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "fieldops", {
    body: data.body || "",
    tag: data.tag || undefined,
    data: { url: data.url || "/" },
    icon: "/static/tech/icon-192.png",
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((windows) => {
    for (const w of windows) {
      if (w.url.endsWith(url) && "focus" in w) return w.focus();
    }
    return self.clients.openWindow(url);
  }));
});
