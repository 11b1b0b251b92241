package pb_test

import (
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	serverpb "github.com/grpcplay/playground/pb"
	browserpb "github.com/grpcplay/playground/pb/browserpb"
)

// The page's messages (browserpb, protoc-gen-go-lite) and every other
// program's (pb, protoc-gen-go) are two generations of user.proto that must
// agree on the wire: the page sends the one and the server reads the other,
// and back. These tests encode with one, decode with the other, both ways,
// for each of the five messages.

// liteMessage is what protoc-gen-go-lite generates for each message.
type liteMessage interface {
	MarshalVT() ([]byte, error)
	UnmarshalVT([]byte) error
	SizeVT() int
}

// newLike returns a new empty message of m's type.
func newLike(m liteMessage) liteMessage {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(liteMessage)
}

// liteFor is the browserpb message of server's type, empty.
func liteFor(t *testing.T, server proto.Message) liteMessage {
	t.Helper()
	switch server.(type) {
	case *serverpb.User:
		return new(browserpb.User)
	case *serverpb.UserRequest:
		return new(browserpb.UserRequest)
	case *serverpb.UserTypeRequest:
		return new(browserpb.UserTypeRequest)
	case *serverpb.UserResponse:
		return new(browserpb.UserResponse)
	case *serverpb.UserCntResponse:
		return new(browserpb.UserCntResponse)
	}
	t.Fatalf("no browserpb message for %T", server)
	return nil
}

// wireCase is one message, written once with each generation's types.
type wireCase struct {
	name    string
	server  proto.Message
	browser liteMessage
}

// wireCases holds each message's zero value and its edge values: the
// largest uint32, empty and non-ASCII strings, every enum value and
// numbers the enums do not name, a nested User (empty, too: present but
// empty stays present).
func wireCases() []wireCase {
	const nonASCII, mail = "Zoë 日本語 🙂", "zoë@例え.jp"
	cases := []wireCase{
		{"User/zero", &serverpb.User{}, &browserpb.User{}},
		{"User/max uint32 and non-ASCII strings",
			&serverpb.User{Id: math.MaxUint32, Nickname: nonASCII, MailAddress: mail, UserType: serverpb.User_ADMINISTRATOR},
			&browserpb.User{Id: math.MaxUint32, Nickname: nonASCII, MailAddress: mail, UserType: browserpb.User_ADMINISTRATOR}},
		{"User/empty strings", &serverpb.User{Id: 1, UserType: serverpb.User_GUEST}, &browserpb.User{Id: 1, UserType: browserpb.User_GUEST}},
		{"UserRequest/zero", &serverpb.UserRequest{}, &browserpb.UserRequest{}},
		{"UserRequest/one", &serverpb.UserRequest{Id: 1}, &browserpb.UserRequest{Id: 1}},
		{"UserRequest/max uint32", &serverpb.UserRequest{Id: math.MaxUint32}, &browserpb.UserRequest{Id: math.MaxUint32}},
		{"UserTypeRequest/zero", &serverpb.UserTypeRequest{}, &browserpb.UserTypeRequest{}},
		{"UserResponse/zero", &serverpb.UserResponse{}, &browserpb.UserResponse{}},
		{"UserResponse/in-band error",
			&serverpb.UserResponse{Error: true, Message: "already exist: ünïcode"},
			&browserpb.UserResponse{Error: true, Message: "already exist: ünïcode"}},
		{"UserResponse/nested user",
			&serverpb.UserResponse{Message: "ok", User: &serverpb.User{Id: math.MaxUint32, Nickname: nonASCII, MailAddress: mail, UserType: serverpb.User_DISABLED}},
			&browserpb.UserResponse{Message: "ok", User: &browserpb.User{Id: math.MaxUint32, Nickname: nonASCII, MailAddress: mail, UserType: browserpb.User_DISABLED}}},
		{"UserResponse/nested empty user",
			&serverpb.UserResponse{User: &serverpb.User{}},
			&browserpb.UserResponse{User: &browserpb.User{}}},
		{"UserCntResponse/zero", &serverpb.UserCntResponse{}, &browserpb.UserCntResponse{}},
		{"UserCntResponse/error", &serverpb.UserCntResponse{Error: true}, &browserpb.UserCntResponse{Error: true}},
		{"UserCntResponse/max uint32", &serverpb.UserCntResponse{UserCnt: math.MaxUint32}, &browserpb.UserCntResponse{UserCnt: math.MaxUint32}},
	}
	// Every value of both enums, and numbers they do not name (kept as
	// numbers by both, as proto3's open enums are), negative included.
	for _, n := range []int32{0, 1, 2, 3, 4, 5, 99, -1, math.MaxInt32, math.MinInt32} {
		name := serverpb.User_UserType(n).String()
		cases = append(cases,
			wireCase{"User/user_type " + name,
				&serverpb.User{Id: 7, UserType: serverpb.User_UserType(n)},
				&browserpb.User{Id: 7, UserType: browserpb.User_UserType(n)}},
			wireCase{"UserTypeRequest/user_type " + name,
				&serverpb.UserTypeRequest{UserType: serverpb.UserTypeRequest_UserType(n)},
				&browserpb.UserTypeRequest{UserType: browserpb.UserTypeRequest_UserType(n)}},
		)
	}
	return cases
}

func TestWireAgreement(t *testing.T) {
	for _, c := range wireCases() {
		t.Run(c.name, func(t *testing.T) {
			// pb writes, browserpb reads.
			b, err := proto.Marshal(c.server)
			if err != nil {
				t.Fatalf("proto.Marshal: %v", err)
			}
			got := newLike(c.browser)
			if err := got.UnmarshalVT(b); err != nil {
				t.Fatalf("browserpb UnmarshalVT of pb's %x: %v", b, err)
			}
			if !reflect.DeepEqual(got, c.browser) {
				t.Errorf("browserpb read pb's %x as %+v, want %+v", b, got, c.browser)
			}

			// browserpb writes, pb reads.
			b, err = c.browser.MarshalVT()
			if err != nil {
				t.Fatalf("MarshalVT: %v", err)
			}
			if n := c.browser.SizeVT(); n != len(b) {
				t.Errorf("SizeVT() = %d, MarshalVT wrote %d bytes", n, len(b))
			}
			gotServer := c.server.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b, gotServer); err != nil {
				t.Fatalf("pb Unmarshal of browserpb's %x: %v", b, err)
			}
			if !proto.Equal(gotServer, c.server) {
				t.Errorf("pb read browserpb's %x as %v, want %v", b, gotServer, c.server)
			}
		})
	}
}

// appendUnknown appends one field of each wire type under numbers user.proto
// does not use, a group holding one varint included.
func appendUnknown(b []byte) []byte {
	b = protowire.AppendTag(b, 99, protowire.VarintType)
	b = protowire.AppendVarint(b, 1<<40)
	b = protowire.AppendTag(b, 100, protowire.BytesType)
	b = protowire.AppendString(b, "from a newer user.proto")
	b = protowire.AppendTag(b, 101, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 0xdeadbeef)
	b = protowire.AppendTag(b, 102, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.MaxUint64)
	b = protowire.AppendTag(b, 103, protowire.StartGroupType)
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 5)
	b = protowire.AppendTag(b, 103, protowire.EndGroupType)
	return b
}

// TestWireAgreementOnRawInput decodes bytes neither generation wrote the
// usual way (fields of a newer user.proto, a field sent twice, zero values
// written out) with both, and checks each reads what the other wrote back:
// unknown fields are kept and sent on by both, a scalar sent twice keeps
// its last value, a message sent twice is merged.
func TestWireAgreementOnRawInput(t *testing.T) {
	user, _ := proto.Marshal(&serverpb.User{Id: 3, Nickname: "ann", UserType: serverpb.User_NORMAL})
	cases := []struct {
		name   string
		server proto.Message
		raw    []byte
	}{
		{"User/unknown fields", &serverpb.User{}, appendUnknown(user)},
		{"UserRequest/unknown fields only", &serverpb.UserRequest{}, appendUnknown(nil)},
		{"UserTypeRequest/unknown fields", &serverpb.UserTypeRequest{}, appendUnknown(protowire.AppendVarint([]byte{4 << 3}, 2))},
		{"UserCntResponse/unknown fields", &serverpb.UserCntResponse{}, appendUnknown([]byte{2 << 3, 9})},
		{"UserResponse/unknown fields in the nested user",
			&serverpb.UserResponse{}, protowire.AppendBytes([]byte{3<<3 | 2}, appendUnknown(user))},
		{"UserRequest/id sent twice, the last kept", &serverpb.UserRequest{}, []byte{1 << 3, 1, 1 << 3, 2}},
		{"UserRequest/id zero written out", &serverpb.UserRequest{}, []byte{1 << 3, 0}},
		{"UserRequest/id in ten bytes, above 32 bits", &serverpb.UserRequest{},
			protowire.AppendVarint([]byte{1 << 3}, math.MaxUint64)},
		{"UserResponse/user sent twice, merged", &serverpb.UserResponse{},
			append(protowire.AppendBytes([]byte{3<<3 | 2}, user),
				protowire.AppendBytes([]byte{3<<3 | 2}, []byte{3<<3 | 2, 1, 'm'})...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fromServer := c.server.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(c.raw, fromServer); err != nil {
				t.Fatalf("pb Unmarshal(%x): %v", c.raw, err)
			}
			fromBrowser := liteFor(t, c.server)
			if err := fromBrowser.UnmarshalVT(c.raw); err != nil {
				t.Fatalf("browserpb UnmarshalVT(%x): %v", c.raw, err)
			}

			// What browserpb read, written again, is what pb read.
			b, err := fromBrowser.MarshalVT()
			if err != nil {
				t.Fatalf("MarshalVT: %v", err)
			}
			back := c.server.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b, back); err != nil {
				t.Fatalf("pb Unmarshal of browserpb's %x: %v", b, err)
			}
			if !proto.Equal(back, fromServer) {
				t.Errorf("browserpb read %x and wrote what pb reads as %v; pb read %v", c.raw, back, fromServer)
			}

			// What pb read, written again, is what browserpb read.
			if b, err = proto.Marshal(fromServer); err != nil {
				t.Fatalf("proto.Marshal: %v", err)
			}
			backLite := newLike(fromBrowser)
			if err := backLite.UnmarshalVT(b); err != nil {
				t.Fatalf("browserpb UnmarshalVT of pb's %x: %v", b, err)
			}
			if !reflect.DeepEqual(backLite, fromBrowser) {
				t.Errorf("pb read %x and wrote what browserpb reads as %+v; browserpb read %+v", c.raw, backLite, fromBrowser)
			}
		})
	}
}

// TestInvalidUTF8 records the one place the two differ: protoc-gen-go-lite
// does not check that strings are UTF-8, protobuf-go does. A string the page
// reads from the DOM through syscall/js is always valid UTF-8; a server
// given another answers with an error status, never a half-read message.
func TestInvalidUTF8(t *testing.T) {
	b, err := (&browserpb.User{Nickname: "\xff"}).MarshalVT()
	if err != nil {
		t.Fatalf("MarshalVT: %v", err)
	}
	if err := proto.Unmarshal(b, new(serverpb.User)); err == nil {
		t.Errorf("pb took %x, a nickname that is not UTF-8", b)
	}
}

// invalidInputs are encodings no well-behaved peer writes: each must make
// UnmarshalVT of the messages listed (all five when none is) return an
// error.
var invalidInputs = []struct {
	name     string
	raw      []byte
	messages []liteMessage
}{
	{"truncated tag", []byte{0x80}, nil},
	{"truncated varint", []byte{1 << 3, 0xff}, nil},
	{"varint over ten bytes", []byte{1 << 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, nil},
	{"length past the end", []byte{2<<3 | 2, 5, 'a'}, nil},
	{"length over the int range", protowire.AppendVarint([]byte{2<<3 | 2}, math.MaxUint64), nil},
	{"truncated fixed64 of an unknown field", []byte{9<<3 | 1, 1, 2, 3}, nil},
	{"unknown group never ended", []byte{9<<3 | 3, 1 << 3, 1}, nil},
	{"end group without a start", []byte{9<<3 | 4}, nil},
	{"field number zero", []byte{0 << 3, 1}, nil},
	{"truncated nested user", []byte{3<<3 | 2, 2, 1 << 3}, nil},
	{"nested user cut inside a field", []byte{3<<3 | 2, 1, 1 << 3, 1}, []liteMessage{new(browserpb.UserResponse)}},
	// A known field of the wrong wire type: protobuf-go keeps it as an
	// unknown field, protoc-gen-go-lite refuses it.
	{"bytes for a uint32", []byte{1<<3 | 2, 1, 'x'},
		[]liteMessage{new(browserpb.User), new(browserpb.UserRequest)}},
	{"varint for a string", []byte{2 << 3, 1}, []liteMessage{new(browserpb.User), new(browserpb.UserResponse)}},
	{"fixed32 for an enum", []byte{4<<3 | 5, 0, 0, 0, 0}, []liteMessage{new(browserpb.User), new(browserpb.UserTypeRequest)}},
	{"bytes for a bool", []byte{1<<3 | 2, 0}, []liteMessage{new(browserpb.UserResponse), new(browserpb.UserCntResponse)}},
	{"varint for the nested user", []byte{3 << 3, 1}, []liteMessage{new(browserpb.UserResponse)}},
	{"fixed64 for a uint32", []byte{2<<3 | 1, 0, 0, 0, 0, 0, 0, 0, 0}, []liteMessage{new(browserpb.UserCntResponse)}},
}

func TestUnmarshalVTRefusesInvalidInput(t *testing.T) {
	all := []liteMessage{new(browserpb.User), new(browserpb.UserRequest), new(browserpb.UserTypeRequest), new(browserpb.UserResponse), new(browserpb.UserCntResponse)}
	for _, in := range invalidInputs {
		messages := in.messages
		if messages == nil {
			messages = all
		}
		for _, m := range messages {
			m = newLike(m)
			if err := m.UnmarshalVT(in.raw); err == nil {
				t.Errorf("%s: %T.UnmarshalVT(%x) = nil, want an error (read %+v)", in.name, m, in.raw, m)
			}
		}
	}
}

// FuzzWireAgreement feeds any bytes to both generations of each message:
// browserpb never panics, what it takes it writes back and reads again the
// same, and when pb takes the bytes too, both read the same message.
func FuzzWireAgreement(f *testing.F) {
	for _, c := range wireCases() {
		b, err := proto.Marshal(c.server)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, in := range invalidInputs {
		f.Add(in.raw)
	}
	f.Add(appendUnknown(nil))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, server := range []proto.Message{new(serverpb.User), new(serverpb.UserRequest), new(serverpb.UserTypeRequest), new(serverpb.UserResponse), new(serverpb.UserCntResponse)} {
			lite := liteFor(t, server)
			if err := lite.UnmarshalVT(raw); err != nil {
				continue
			}
			b, err := lite.MarshalVT()
			if err != nil {
				t.Fatalf("%T: MarshalVT after UnmarshalVT(%x): %v", lite, raw, err)
			}
			again := newLike(lite)
			if err := again.UnmarshalVT(b); err != nil || !reflect.DeepEqual(again, lite) {
				t.Fatalf("%T: read %x as %+v, wrote %x, read that as %+v (%v)", lite, raw, lite, b, again, err)
			}
			if proto.Unmarshal(raw, server) != nil {
				continue // not UTF-8, or a field number above protobuf's range
			}
			back := server.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b, back); err != nil || !proto.Equal(back, server) {
				t.Fatalf("%T: pb read %x as %v; browserpb read it and wrote what pb reads as %v (%v)", lite, raw, server, back, err)
			}
		}
	})
}
