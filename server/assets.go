package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// asset is one embedded file, read once at start: embedded files never
// change while the binary runs, so validators are computed once.
type asset struct {
	body     []byte
	gzip     []byte // the precompressed sibling NAME.gz, when there is one
	zstd     []byte // the precompressed sibling NAME.zst, when there is one
	ctype    string
	etag     string
	gzipETag string
	zstdETag string
}

// assets serves the page files from an fs.FS, with strong ETags, and a
// precompressed sibling instead of NAME in the best encoding the client
// accepts: NAME.zst (zstd, the smaller and the faster to decode), else
// NAME.gz.
type assets struct {
	files map[string]*asset
}

func newAssets(fsys fs.FS) (*assets, error) {
	a := &assets{files: make(map[string]*asset)}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".zst") {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f := &asset{body: body, ctype: mime.TypeByExtension(path.Ext(name)), etag: etagOf(body)}
		if f.ctype == "" {
			f.ctype = http.DetectContentType(body)
		}
		if gz, err := fs.ReadFile(fsys, name+".gz"); err == nil {
			f.gzip, f.gzipETag = gz, etagOf(gz)
		}
		if z, err := fs.ReadFile(fsys, name+".zst"); err == nil {
			f.zstd, f.zstdETag = z, etagOf(z)
		}
		a.files["/"+name] = f
		return nil
	})
	return a, err
}

// markBody adds attr (name="value", escaped) to the <html> and the <body>
// of the page, index.html: how the server tells the page what it is for
// (data-backend, the server a front stands before). The <html>'s is there
// for the page's first script, in its head, before the body exists.
func (a *assets) markBody(name, value string) error {
	f, ok := a.files["/index.html"]
	if !ok {
		return nil
	}
	attr := " " + name + `="` + html.EscapeString(value) + `"`
	body := f.body
	for _, tag := range []string{"<html", "<body"} {
		i := bytes.Index(body, []byte(tag))
		if i < 0 {
			return fmt.Errorf("index.html has no %s>", tag)
		}
		body = append(append(append([]byte(nil), body[:i+len(tag)]...), attr...), body[i+len(tag):]...)
	}
	a.files["/index.html"] = &asset{body: body, ctype: f.ctype, etag: etagOf(body)}
	return nil
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := r.URL.Path
	if strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	f, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache") // revalidate with the ETag: cheap, and never stale
	h.Set("X-Content-Type-Options", "nosniff")
	body, etag := f.body, f.etag
	if f.gzip != nil || f.zstd != nil {
		h.Add("Vary", "Accept-Encoding")
		switch {
		case f.zstd != nil && accepts(r, "zstd"):
			body, etag = f.zstd, f.zstdETag
			h.Set("Content-Encoding", "zstd")
		case f.gzip != nil && accepts(r, "gzip"):
			body, etag = f.gzip, f.gzipETag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// accepts reports whether Accept-Encoding lists coding without q=0.
func accepts(r *http.Request, coding string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		c, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(c), coding) {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
