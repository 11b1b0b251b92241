package server_test

import (
	"fmt"
	"os"
	"testing"
)

// toolsDir holds the tools the tests build (tool); TestMain removes it.
var toolsDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "server-test-tools")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	toolsDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
