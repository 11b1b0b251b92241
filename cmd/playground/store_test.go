package main

import (
	"strings"
	"testing"

	"github.com/grpcplay/playground/server/store/bolttest"
)

// TestBinaryRefusesDamagedStores starts the binary on store files damaged on
// disk, and on store URLs it cannot use: each stops start-up with exit code
// 1 and an error that names the file (or the database), never a panic, a
// crash, or a password.
func TestBinaryRefusesDamagedStores(t *testing.T) {
	bin := buildPlayground(t)
	type startCase struct {
		name string
		args []string
		want []string
	}
	var cases []startCase
	for _, f := range bolttest.Damaged(t, t.TempDir()) {
		cases = append(cases, startCase{f.Name, []string{"-data", f.Path}, []string{f.Path}})
	}
	cases = append(cases,
		startCase{"postgres unreachable", []string{"-store", "postgres://postgres:s3cret-pw@127.0.0.1:1/playground?connect_timeout=2"},
			[]string{"postgres://postgres:xxxxx@127.0.0.1:1/playground", "database unreachable"}},
		startCase{"not a postgres URL", []string{"-store", "mysql://root:s3cret-pw@127.0.0.1/db"}, []string{"not a postgres:// URL"}},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, bin, nil, append([]string{"-addr", "127.0.0.1:0"}, tc.args...)...)
			code := p.wait(t)
			log := p.log.String()
			if code != 1 {
				t.Fatalf("exit code %d; want 1. Log:\n%s", code, log)
			}
			for _, want := range tc.want {
				if !strings.Contains(log, want) {
					t.Errorf("the log does not say %q:\n%s", want, log)
				}
			}
			for _, never := range []string{"panic", "goroutine ", "SIGSEGV", "SIGBUS", "s3cret-pw"} {
				if strings.Contains(log, never) {
					t.Errorf("the log shows %q:\n%s", never, log)
				}
			}
		})
	}
}
