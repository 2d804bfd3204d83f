/* The "Notify me" button (the alerts page, the technicians' order list): register the push service worker,
   subscribe with the server's VAPID key and send the subscription to /push/subscriptions/. */
(function () {
  const box = document.getElementById("push-box");
  if (!box) return;
  const key = box.dataset.key;
  const button = box.querySelector("button");
  const say = box.querySelector(".push-status");
  if (!key || !("serviceWorker" in navigator) || !("PushManager" in window)) {
    say.textContent = box.dataset.unsupported;
    button.hidden = true;
    return;
  }
  function bytes(base64url) {
    const raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        say.textContent = box.dataset.denied;
        return;
      }
      const registration = await navigator.serviceWorker.register(box.dataset.worker, { scope: "/" });
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: bytes(key) });
      const answer = await fetch(box.dataset.subscribe, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": box.dataset.csrf },
        body: JSON.stringify(subscription.toJSON()) });
      const reply = await answer.json();
      say.textContent = reply.detail;
    } catch (error) {
      say.textContent = box.dataset.failed;
    } finally {
      button.disabled = false;
    }
  });
})();
