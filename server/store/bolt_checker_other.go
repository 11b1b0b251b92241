//go:build !linux

package store

import "os"

// executable is the running program's executable.
func executable() (string, error) { return os.Executable() }

// limitAddressSpace does nothing here: the checker's memory is bounded by
// debug.SetMemoryLimit alone, a soft limit.
func limitAddressSpace(int64) error { return nil }
