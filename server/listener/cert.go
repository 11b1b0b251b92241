package listener

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Certificate serves the TLS certificate of a cert and key file pair,
// reloaded when the files change (or Reload is called, on SIGHUP), so a
// renewed certificate takes effect without a restart and without dropping
// a connection: each new handshake takes the current one.
type Certificate struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // the newer of the two files' at the last load
	// failedAt is the files' time when a changed pair last failed to
	// load: the failure is logged once, not at every check.
	failedAt time.Time
}

// NewCertificate loads certFile and keyFile (PEM).
func NewCertificate(certFile, keyFile string, log *slog.Logger) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. On failure the certificate in use stays.
func (c *Certificate) Reload() error {
	mod := c.filesModTime()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s, key %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	c.cert, c.modTime = &cert, mod
	c.mu.Unlock()
	return nil
}

// filesModTime is the newer modification time of the two files.
func (c *Certificate) filesModTime() time.Time {
	var t time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// reloadIfChanged reloads when a file is newer than the last load. A pair
// that fails to load is logged once, and again only when the files change
// again.
func (c *Certificate) reloadIfChanged() {
	mod := c.filesModTime()
	c.mu.Lock()
	last, failed := c.modTime, c.failedAt
	c.mu.Unlock()
	if !mod.After(last) || mod.Equal(failed) {
		return
	}
	if err := c.Reload(); err != nil {
		c.mu.Lock()
		c.failedAt = mod
		c.mu.Unlock()
		c.log.Error("TLS certificate changed but cannot be loaded; the previous one stays in use until the files are fixed", "err", err)
		return
	}
	c.log.Info("TLS certificate reloaded", "cert", c.certFile)
}

// Watch checks the files every interval until done is closed.
func (c *Certificate) Watch(interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.reloadIfChanged()
		case <-done:
			return
		}
	}
}

// get implements tls.Config.GetCertificate.
func (c *Certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert, nil
}

// TLSConfig is the port's TLS configuration: HTTP/2 and HTTP/1.1 by ALPN.
func (c *Certificate) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: c.get,
		NextProtos:     []string{"h2", "http/1.1"},
		MinVersion:     tls.VersionTLS12,
	}
}
