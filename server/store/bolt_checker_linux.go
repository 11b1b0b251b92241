package store

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// executable is the running program's executable, as the kernel knows it:
// the same program even when its file has since been replaced or removed.
func executable() (string, error) { return "/proc/self/exe", nil }

// limitAddressSpace bounds this process's address space to what it maps now
// plus n bytes (RLIMIT_AS), so that an allocation that would take more
// fails at once, a fatal out-of-memory, rather than slowly eating the
// machine's memory. debug.SetMemoryLimit, which the checker sets too, only
// makes the garbage collector work harder.
func limitAddressSpace(n int64) error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	_, line, ok := bytes.Cut(status, []byte("\nVmSize:"))
	if !ok {
		return fmt.Errorf("no VmSize in /proc/self/status")
	}
	line, _, _ = bytes.Cut(line, []byte("\n"))
	kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(line), []byte("kB")))), 10, 64)
	if err != nil {
		return fmt.Errorf("VmSize in /proc/self/status: %w", err)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return err
	}
	rl.Cur = min(rl.Cur, uint64(kb)<<10+uint64(n))
	return syscall.Setrlimit(syscall.RLIMIT_AS, &rl)
}
