package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store/bolttest"
)

// TestBinaryRefusesDamagedStores starts the binary on store files damaged on
// disk, and on store URLs it cannot use: each stops start-up with exit code
// 1 and an error that names the file (or the database), never a panic, a
// crash, or a password. The file is checked in a checker process, the
// binary started again: damage that makes bbolt fault on a goroutine of its
// own (unsearched-branch-key) or allocate terabytes (freelist-count) ends
// the checker, and the server says so.
func TestBinaryRefusesDamagedStores(t *testing.T) {
	bin := buildPlayground(t)
	type startCase struct {
		name string
		args []string
		want []string
	}
	says := map[string]string{ // by damage, besides the file's name
		"freelist-count":        "is damaged: its check did not finish: the checker ran out of memory",
		"unsearched-branch-key": "is damaged: its check did not finish: bbolt read outside the file's memory map (a memory fault)",
		"page-loop":             "is damaged: its check ", // the checker's lease or its memory limit, whichever first
		"truncated-to-a-third":  "is damaged: truncated",
	}
	var cases []startCase
	for _, f := range bolttest.Damaged(t, t.TempDir()) {
		want := []string{f.Path}
		if s, ok := says[f.Name]; ok {
			want = append(want, f.Path+" "+s)
		}
		cases = append(cases, startCase{f.Name, []string{"-data", f.Path}, want})
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
			for _, never := range []string{"panic", "goroutine ", "SIGSEGV", "SIGBUS", "fatal error", "s3cret-pw"} {
				if strings.Contains(log, never) {
					t.Errorf("the log shows %q:\n%s", never, log)
				}
			}
		})
	}
}

// TestBinaryReopensItsStore stops the binary and starts it again on the
// store it wrote: the checker passes the file, and the user added before is
// served after.
func TestBinaryReopensItsStore(t *testing.T) {
	bin := buildPlayground(t)
	data := filepath.Join(t.TempDir(), "users.db")
	added := &pb.User{Id: 1000, Nickname: "kept", MailAddress: "kept@example.com", UserType: pb.User_GUEST}
	for run := range 2 {
		p := start(t, bin, nil, "-addr", "127.0.0.1:0", "-data", data)
		addr := p.waitLine(t, readyLine)[1]
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c := pb.NewUserManagerClient(cc)
		if run == 0 {
			if _, err := c.AddUser(ctx, added); err != nil {
				t.Fatalf("AddUser: %v", err)
			}
		} else if r, err := c.GetUser(ctx, &pb.UserRequest{Id: added.Id}); err != nil || r.GetUser().GetNickname() != added.Nickname {
			t.Fatalf("GetUser %d after a restart: %v, %v; log:\n%s", added.Id, r, err, p.log.String())
		}
		cancel()
		cc.Close()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.waitLine(t, regexp.MustCompile(`shutting down`))
		if code := p.wait(t); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d; log:\n%s", code, p.log.String())
		}
	}
}
