// Drives the official socket.io admin UI (its built app, loaded by the same
// page) as a person would: fills its login form with the server URL, user
// name and password from this page's query, submits it, then opens the
// sockets and rooms views and posts to /event what they show once the
// expected socket id and room are there (kinds "sockets", "rooms"), or an
// "error" with the page's text. The test reads the DOM through these posts.
(function () {
  const q = new URLSearchParams(location.search);
  const post = (kind, data) =>
    fetch("/event", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ kind, data }) });
  const started = Date.now();
  const limit = 90000; // the Go test's own bound is longer
  // waitFor polls the DOM: the UI renders asynchronously and offers no
  // event to wait on.
  const waitFor = (what, cond, then) => {
    const tick = () => {
      let v;
      try {
        v = cond();
      } catch (e) {
        v = null;
      }
      if (v) return then(v);
      if (Date.now() - started > limit) return post("error", `no ${what} after ${limit} ms; the page shows: ${document.body.innerText.slice(0, 2000)}`);
      setTimeout(tick, 100);
    };
    tick();
  };
  const setField = (input, value) => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  };
  window.addEventListener("error", (e) => post("error", String(e.message)));

  waitFor("login form", () => {
    const inputs = document.querySelectorAll("form input");
    return inputs.length >= 3 ? inputs : null;
  }, (inputs) => {
    // The form's fields, in order: server URL, user name, password.
    setField(inputs[0], q.get("server"));
    setField(inputs[1], q.get("user"));
    setField(inputs[2], q.get("pass"));
    waitFor("enabled connect button", () => {
      const b = document.querySelector("form button[type=submit]");
      return b && !b.disabled ? b : null;
    }, (button) => {
      button.click();
      // The status in the app bar; the form stays in the DOM, hidden.
      waitFor("the connected status", () => /(^|\s)CONNECTED(\s|$)/.test(document.body.innerText), () => {
        post("logged-in", location.href);
        location.hash = "#/sockets/";
        waitFor(`socket ${q.get("socket")} in the sockets view`, () => document.body.innerText.includes(q.get("socket")) && document.body.innerText, (text) => {
          post("sockets", text);
          location.hash = "#/rooms/";
          waitFor(`room ${q.get("room")} in the rooms view`, () => document.body.innerText.includes(q.get("room")) && document.body.innerText, (text) => {
            post("rooms", text);
          });
        });
      });
    });
  });
})();
