// Runs the page's Go programs: main.wasm (the cards and the banner) and the
// explorer's, explorer.wasm, which runs when the explorer is first shown
// (#explorer). The page's first script started compiling the one the page
// opens on while it downloads (compileWasm, in index.html); opened on the explorer, main.wasm starts once
// the explorer has read its schema (the event explorer-loaded), or failed.
// Until a program runs, and if it cannot load, the page says so. The two
// programs' calls share one WebSocket: the first to open it publishes it
// on window.grpcMuxPageSocket, and the other's go on it (wasm/client's
// WithPageSocket).
(function () {
  "use strict";
  const conn = document.getElementById("conn");
  const body = document.body;
  const backend = body.dataset.backend;
  if (backend) {
    document.querySelector('[data-role="backend"]').textContent = backend;
  }
  function fail(msg) {
    conn.className = "conn down";
    conn.textContent = "The Go client could not start: " + msg;
    body.dataset.ready = "error";
  }
  const explorer = document.querySelector("[data-explorer]");
  const schemaStatus = explorer.querySelector('[data-role="schema-status"]');
  function explorerFail(msg) {
    schemaStatus.dataset.state = "error";
    schemaStatus.textContent = "The explorer could not start: " + msg;
  }
  const message = (err) => String(err && err.message ? err.message : err);
  if (typeof Go === "undefined") {
    fail("wasm/wasm_exec.js did not load");
    explorerFail("wasm/wasm_exec.js did not load");
    return;
  }
  if (!("WebAssembly" in window)) {
    fail("this browser has no WebAssembly");
    explorerFail("this browser has no WebAssembly");
    return;
  }
  // run instantiates a compiled program and runs it, marking the two steps
  // (NAME-compiled, NAME-instantiated) on the page's timeline.
  function run(compiled, name) {
    const go = new Go();
    return compiled
      .then((module) => {
        performance.mark(name + "-compiled");
        return WebAssembly.instantiate(module, go.importObject);
      })
      .then((instance) => {
        performance.mark(name + "-instantiated");
        return go.run(instance);
      });
  }
  let mainStarted = false;
  function startMain() {
    if (mainStarted) {
      return;
    }
    mainStarted = true;
    run(window.mainWasm || compileWasm("main.wasm"), "playground-wasm")
      .then(() => fail("the Go program exited"))
      .catch((err) => fail(message(err)));
  }

  let explorerStarted = false;
  function startExplorer() {
    if (explorerStarted || !location.hash.startsWith("#explorer")) {
      return;
    }
    explorerStarted = true;
    explorer.hidden = false;
    if (schemaStatus.dataset.state === "idle") {
      schemaStatus.dataset.state = "loading";
      schemaStatus.textContent = "Loading the explorer (explorer.wasm)…";
    }
    run(window.explorerWasm || compileWasm("explorer.wasm"), "explorer-wasm")
      .then(() => explorerFail("the explorer's Go program exited"))
      .catch((err) => {
        explorerFail(message(err));
        startMain();
      });
  }
  addEventListener("hashchange", startExplorer);
  if (window.explorerWasm) {
    document.addEventListener("explorer-loaded", startMain, {once: true});
    startExplorer();
  } else {
    startMain();
    startExplorer();
  }
})();
