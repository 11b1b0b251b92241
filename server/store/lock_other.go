//go:build !unix

package store

import (
	"os"
	"time"
)

// lockFile does nothing here: bbolt takes its own lock when it opens the
// file (and reports a file locked by another process as bbolt.ErrTimeout),
// only after the checks that run before it.
func lockFile(*os.File, time.Duration) error { return nil }
