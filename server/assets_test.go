package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// The page's assets go out in the best encoding the client accepts: zstd,
// else gzip, else as they are; each with its own ETag.
func TestAssetsEncodings(t *testing.T) {
	a, err := newAssets(fstest.MapFS{
		"wasm/main.wasm":     {Data: []byte("raw")},
		"wasm/main.wasm.gz":  {Data: []byte("gzip")},
		"wasm/main.wasm.zst": {Data: []byte("zstd")},
		"style.css":          {Data: []byte("css")},
	})
	if err != nil {
		t.Fatal(err)
	}
	etags := map[string]bool{}
	for _, c := range []struct{ accept, encoding, body string }{
		{"gzip, deflate, br, zstd", "zstd", "zstd"},
		{"gzip, zstd;q=0", "gzip", "gzip"},
		{"br", "", "raw"},
		{"", "", "raw"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/wasm/main.wasm", nil)
		r.Header.Set("Accept-Encoding", c.accept)
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		if got := w.Header().Get("Content-Encoding"); got != c.encoding || w.Body.String() != c.body || w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: encoding %q, body %q, Vary %q; want %q, %q", c.accept, got, w.Body.String(), w.Header().Get("Vary"), c.encoding, c.body)
		}
		etags[w.Header().Get("ETag")] = true
	}
	if len(etags) != 3 {
		t.Errorf("%d distinct ETags for three encodings", len(etags))
	}
	r := httptest.NewRequest(http.MethodGet, "/style.css", nil)
	r.Header.Set("Accept-Encoding", "zstd")
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	if w.Header().Get("Content-Encoding") != "" || w.Body.String() != "css" {
		t.Errorf("a file without siblings: %q %q", w.Header().Get("Content-Encoding"), w.Body.String())
	}

	// NAME.gz is also served as it is stored, whatever the client accepts,
	// for the page, which inflates it itself (index.html's compileWasm).
	r = httptest.NewRequest(http.MethodGet, "/wasm/main.wasm.gz", nil)
	r.Header.Set("Accept-Encoding", "gzip, zstd")
	w = httptest.NewRecorder()
	a.ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "" || w.Header().Get("Content-Type") != "application/gzip" || w.Body.String() != "gzip" {
		t.Errorf("main.wasm.gz: %d, encoding %q, type %q, body %q", w.Code, w.Header().Get("Content-Encoding"), w.Header().Get("Content-Type"), w.Body.String())
	}
	r = httptest.NewRequest(http.MethodGet, "/wasm/main.wasm.zst", nil)
	w = httptest.NewRecorder()
	a.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound {
		t.Errorf("main.wasm.zst: %d, want 404 (only the gzip files are served by name)", w.Code)
	}
}
