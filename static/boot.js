// Runs the Go client: main.wasm, which the page's head started compiling
// while it downloads (compileStreaming needs application/wasm, which the
// server sends). The Go program takes over the page once it runs; until
// then, and if it cannot load, this says so.
(function () {
  "use strict";
  const conn = document.getElementById("conn");
  function fail(msg) {
    conn.className = "conn down";
    conn.textContent = "The Go client could not start: " + msg;
    document.body.dataset.ready = "error";
  }
  if (typeof Go === "undefined") {
    fail("wasm/wasm_exec.js did not load");
    return;
  }
  if (!("WebAssembly" in window)) {
    fail("this browser has no WebAssembly");
    return;
  }
  const go = new Go();
  (window.mainWasm || WebAssembly.compileStreaming(fetch("wasm/main.wasm")))
    .then((module) => {
      performance.mark("playground-wasm-compiled");
      return WebAssembly.instantiate(module, go.importObject);
    })
    .then((instance) => go.run(instance))
    .then(() => fail("the Go program exited"))
    .catch((err) => fail(String(err && err.message ? err.message : err)));
})();
