package usermanager

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
)

// TestGetUsersByTypePages streams users of one type across many store
// pages, with page boundaries falling inside and exactly at the end of the
// matching users: every user arrives once, in ascending id order.
func TestGetUsersByTypePages(t *testing.T) {
	dir := t.TempDir()
	seed := map[string]any{}
	want := map[pb.User_UserType][]uint32{}
	types := []pb.User_UserType{pb.User_NORMAL, pb.User_GUEST, pb.User_NORMAL, pb.User_DISABLED, pb.User_NORMAL}
	for id := uint32(1); id <= 40; id++ {
		typ := types[id%uint32(len(types))]
		seed[fmt.Sprint(id)] = map[string]any{"id": id, "nickname": fmt.Sprint("u", id), "mail_address": fmt.Sprint("u", id, "@example.com"), "user_type": typ.String()}
		want[typ] = append(want[typ], id)
	}
	b, err := json.Marshal(seed)
	if err != nil {
		t.Fatal(err)
	}
	users, err := store.ParseSeed(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(filepath.Join(dir, "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Init(context.Background(), users); err != nil {
		t.Fatal(err)
	}

	for _, pageSize := range []int{1, 2, 8, len(want[pb.User_NORMAL]), 1000} {
		t.Run(fmt.Sprint("page size ", pageSize), func(t *testing.T) {
			svc := New(st, 0, nil)
			svc.pageSize = pageSize
			c := serveService(t, svc)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for typ, ids := range want {
				s, err := c.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_UserType(typ)})
				if err != nil {
					t.Fatal(err)
				}
				var got []uint32
				for {
					r, err := s.Recv()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("%v: %v", typ, err)
					}
					got = append(got, r.GetUser().GetId())
				}
				if fmt.Sprint(got) != fmt.Sprint(ids) {
					t.Fatalf("%v: ids %v; want %v", typ, got, ids)
				}
			}
		})
	}
}

// serveService serves svc alone with a plain grpc.Server on 127.0.0.1.
func serveService(t *testing.T, svc *Service) pb.UserManagerClient {
	t.Helper()
	gs := grpc.NewServer()
	pb.RegisterUserManagerServer(gs, svc)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return pb.NewUserManagerClient(cc)
}
