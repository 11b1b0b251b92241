package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// variant is one stored form of an asset: the file itself, or its
// precompressed sibling.
type variant struct {
	name string // in the file system; "" for no such variant
	etag string
	body []byte // held only when it is not the file's (index.html marked)
}

// asset is one page file. Embedded files never change while the binary
// runs, so validators are computed once; their bytes stay where the binary
// keeps them and are read at each request, not copied onto the heap (the
// wasm programs and their compressed forms are tens of megabytes).
type asset struct {
	plain, gzip, zstd variant
	ctype             string
}

// assets serves the page files from an fs.FS, with strong ETags, and a
// precompressed sibling instead of NAME in the best encoding the client
// accepts: NAME.zst (zstd, the smaller and the faster to decode), else
// NAME.gz.
type assets struct {
	fsys  fs.FS
	files map[string]*asset
}

func newAssets(fsys fs.FS) (*assets, error) {
	a := &assets{fsys: fsys, files: make(map[string]*asset)}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".zst") {
			return err
		}
		f := &asset{ctype: mime.TypeByExtension(path.Ext(name))}
		if f.plain, err = variantOf(fsys, name); err != nil {
			return err
		}
		if f.ctype == "" {
			head, err := readHead(fsys, name)
			if err != nil {
				return err
			}
			f.ctype = http.DetectContentType(head)
		}
		if f.gzip, err = variantOf(fsys, name+".gz"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if f.zstd, err = variantOf(fsys, name+".zst"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		a.files["/"+name] = f
		if f.gzip.name != "" {
			// NAME.gz as it is stored, for a page that inflates it itself
			// (index.html's compileWasm).
			a.files["/"+f.gzip.name] = &asset{plain: f.gzip, ctype: "application/gzip"}
		}
		return nil
	})
	return a, err
}

// variantOf is the file name of fsys, its ETag computed as it is read.
func variantOf(fsys fs.FS, name string) (variant, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return variant{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return variant{}, err
	}
	return variant{name: name, etag: `"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12]) + `"`}, nil
}

// readHead is the first 512 bytes of name, for content sniffing.
func readHead(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 512)
	n, err := io.ReadFull(f, b)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return b[:n], err
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
	body, err := a.read(f.plain)
	if err != nil {
		return err
	}
	for _, tag := range []string{"<html", "<body"} {
		i := bytes.Index(body, []byte(tag))
		if i < 0 {
			return fmt.Errorf("index.html has no %s>", tag)
		}
		body = append(append(append([]byte(nil), body[:i+len(tag)]...), attr...), body[i+len(tag):]...)
	}
	sum := sha256.Sum256(body)
	a.files["/index.html"] = &asset{ctype: f.ctype, plain: variant{name: "index.html", body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}}
	return nil
}

// read is a variant's bytes.
func (a *assets) read(v variant) ([]byte, error) {
	if v.body != nil {
		return v.body, nil
	}
	return fs.ReadFile(a.fsys, v.name)
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
	v := f.plain
	if f.gzip.name != "" || f.zstd.name != "" {
		h.Add("Vary", "Accept-Encoding")
		switch {
		case f.zstd.name != "" && accepts(r, "zstd"):
			v = f.zstd
			h.Set("Content-Encoding", "zstd")
		case f.gzip.name != "" && accepts(r, "gzip"):
			v = f.gzip
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", v.etag)
	if v.body != nil {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(v.body))
		return
	}
	file, err := a.fsys.Open(v.name)
	if err != nil {
		http.Error(w, "asset unreadable", http.StatusInternalServerError)
		return
	}
	defer file.Close()
	if rs, ok := file.(io.ReadSeeker); ok { // embed's files read from the binary, no copy
		http.ServeContent(w, r, "", time.Time{}, rs)
		return
	}
	body, err := io.ReadAll(file)
	if err != nil {
		http.Error(w, "asset unreadable", http.StatusInternalServerError)
		return
	}
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
