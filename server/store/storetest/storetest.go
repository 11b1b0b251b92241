// Package storetest is the conformance suite for store.Store backends. A
// backend's test calls Run with a function that makes a fresh, empty location
// and returns an opener for it; the suite opens, closes and reopens it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
)

// Opener opens the store at one location; the suite may call it again after
// closing the store, and must find the same data.
type Opener func() (store.Store, error)

// Run runs every conformance test against the backend that fresh makes.
func Run(t *testing.T, fresh func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"InitLoadsOnce", testInitLoadsOnce},
		{"GetAndNotFound", testGet},
		{"AddRejectsTakenID", testAddTaken},
		{"AddIsDurable", testDurable},
		{"ListByTypeOrderAndPaging", testListByType},
		{"ConcurrentAddOneID", testConcurrentSameID},
		{"ConcurrentAddManyIDs", testConcurrentManyIDs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t)) })
	}
}

func mustOpen(t *testing.T, open Opener) store.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func user(id uint32, typ pb.User_UserType) *pb.User {
	return &pb.User{Id: id, Nickname: fmt.Sprintf("user%d", id), MailAddress: fmt.Sprintf("user%d@example.com", id), UserType: typ}
}

func testInitLoadsOnce(t *testing.T, open Opener) {
	ctx := context.Background()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	seed := []*pb.User{user(1, pb.User_ADMINISTRATOR), user(2, pb.User_GUEST)}
	if loaded, err := s.Init(ctx, seed); err != nil || !loaded {
		t.Fatalf("first Init = %v, %v; want true, nil", loaded, err)
	}
	if err := s.Add(ctx, user(3, pb.User_NORMAL)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, open)
	if loaded, err := s.Init(ctx, []*pb.User{user(9, pb.User_NORMAL)}); err != nil || loaded {
		t.Fatalf("Init on an initialised store = %v, %v; want false, nil", loaded, err)
	}
	for _, id := range []uint32{1, 2, 3} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("Get(%d) after reopen: %v", id, err)
		}
	}
	if _, err := s.Get(ctx, 9); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Init's user was stored: Get(9) err = %v", err)
	}
}

func testGet(t *testing.T, open Opener) {
	ctx := context.Background()
	s := mustOpen(t, open)
	want := user(42, pb.User_GUEST)
	if err := s.Add(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, 42)
	if err != nil || !proto.Equal(got, want) {
		t.Fatalf("Get(42) = %v, %v; want %v", got, err, want)
	}
	if _, err := s.Get(ctx, 43); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(43) err = %v; want ErrNotFound", err)
	}
}

func testAddTaken(t *testing.T, open Opener) {
	ctx := context.Background()
	s := mustOpen(t, open)
	first := user(7, pb.User_NORMAL)
	if err := s.Add(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := user(7, pb.User_DISABLED)
	second.Nickname = "other"
	if err := s.Add(ctx, second); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Add(7) err = %v; want ErrExists", err)
	}
	got, _ := s.Get(ctx, 7)
	if !proto.Equal(got, first) {
		t.Fatalf("rejected Add changed the user: %v", got)
	}
	if page, _ := s.ListByType(ctx, pb.User_DISABLED, 0, 10); len(page) != 0 {
		t.Fatalf("rejected Add reached the type index: %v", page)
	}
}

func testDurable(t *testing.T, open Opener) {
	ctx := context.Background()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	want := user(1000, pb.User_ADMINISTRATOR)
	if err := s.Add(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, open)
	got, err := s.Get(ctx, 1000)
	if err != nil || !proto.Equal(got, want) {
		t.Fatalf("after reopen Get = %v, %v; want %v", got, err, want)
	}
}

func testListByType(t *testing.T, open Opener) {
	ctx := context.Background()
	s := mustOpen(t, open)
	var normal []uint32
	ids := rand.Perm(60)
	for _, i := range ids {
		id := uint32(i + 1)
		typ := pb.User_GUEST
		if id%3 == 0 {
			typ = pb.User_NORMAL
		}
		if err := s.Add(ctx, user(id, typ)); err != nil {
			t.Fatal(err)
		}
	}
	for id := uint32(3); id <= 60; id += 3 {
		normal = append(normal, id)
	}
	var got []uint32
	after := uint32(0)
	for {
		page, err := s.ListByType(ctx, pb.User_NORMAL, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			if u.UserType != pb.User_NORMAL {
				t.Fatalf("ListByType(NORMAL) returned %v", u)
			}
			got = append(got, u.Id)
			after = u.Id
		}
		if len(page) < 7 {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(normal) {
		t.Fatalf("NORMAL ids = %v; want %v", got, normal)
	}
	if page, err := s.ListByType(ctx, pb.User_DISABLED, 0, 10); err != nil || len(page) != 0 {
		t.Fatalf("ListByType(DISABLED) = %v, %v; want none", page, err)
	}
	if page, err := s.ListByType(ctx, pb.User_NORMAL, 4, 2); err != nil || len(page) != 2 || page[0].Id != 6 || page[1].Id != 9 {
		t.Fatalf("ListByType(NORMAL, after 4, limit 2) = %v, %v; want ids 6, 9", page, err)
	}
}

func testConcurrentSameID(t *testing.T, open Opener) {
	ctx := context.Background()
	s := mustOpen(t, open)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			u := user(5, pb.User_NORMAL)
			u.Nickname = fmt.Sprintf("racer%d", i)
			errs <- s.Add(ctx, u)
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrExists):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent adds of one id succeeded; want exactly 1", ok, n)
	}
}

func testConcurrentManyIDs(t *testing.T, open Opener) {
	ctx := context.Background()
	s := mustOpen(t, open)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Add(ctx, user(uint32(100+i), pb.User_GUEST)); err != nil {
				t.Errorf("Add(%d): %v", 100+i, err)
			}
		})
	}
	wg.Wait()
	page, err := s.ListByType(ctx, pb.User_GUEST, 0, 2*n)
	if err != nil || len(page) != n {
		t.Fatalf("after %d concurrent adds ListByType found %d users (err %v)", n, len(page), err)
	}
}
