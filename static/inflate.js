// inflate.js is a worker of the page's compileWasm (index.html): it fetches
// a program's gzip file and inflates it off the page's thread, posting the
// program's bytes back a slice at a time. The page's thread meanwhile feeds
// them to WebAssembly.compileStreaming, so inflating and compiling, each a
// few hundred milliseconds for the explorer, run side by side on two cores
// instead of one after the other on one.
//
// Message in: the URL of NAME.gz. Messages out: {status} once the response
// is in (not 200: the page compiles the plain program instead), then
// {bytes} (transferred) as they inflate, then {done, fetched} (when the
// response's last byte arrived, in ms since the epoch), or {error}.
"use strict";
// slice bounds each write to the inflater, so that its output comes out in
// pieces the page can start compiling, not all at once at the end.
const slice = 32 << 10;
onmessage = async (e) => {
  try {
    const resp = await fetch(e.data, {cache: "no-store"});
    postMessage({status: resp.status});
    if (resp.status !== 200) {
      return;
    }
    const inflater = new DecompressionStream("gzip");
    const out = (async () => {
      const reader = inflater.readable.getReader();
      for (;;) {
        const {done, value} = await reader.read();
        if (done) {
          return;
        }
        postMessage({bytes: value}, [value.buffer]);
      }
    })();
    const writer = inflater.writable.getWriter();
    const reader = resp.body.getReader();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) {
        break;
      }
      for (let i = 0; i < value.length; i += slice) {
        await writer.write(value.subarray(i, i + slice));
      }
    }
    await writer.close();
    await out;
    // When the last byte arrived, on the page's clock (the page marks it:
    // the worker's requests are not on the page's timeline).
    const entry = performance.getEntriesByName(e.data)[0];
    postMessage({done: true, fetched: entry ? performance.timeOrigin + entry.responseEnd : 0});
  } catch (err) {
    postMessage({error: String(err)});
  }
};
