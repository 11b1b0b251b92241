package conformance

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd's process when this one ends, so
// that no server outlives a test binary that was killed.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
