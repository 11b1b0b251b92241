package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
)

// printer writes replies to the output, one line per message and one Write
// per line, so each streamed message reaches the reader when it arrives:
// for people by default, protojson with the proto field names with -json.
type printer struct {
	w    io.Writer
	json bool
}

// response prints one UserResponse. In human mode an in-band error reply
// reads "in-band error: not found"; a user reads
// "id=1 nickname=admin mail_address=admin@example.com user_type=ADMINISTRATOR".
func (p *printer) response(r *pb.UserResponse) error {
	if p.json {
		return p.message(r)
	}
	var parts []string
	switch {
	case r.GetError():
		parts = append(parts, "in-band error: "+printable(r.GetMessage()))
	case r.GetMessage() != "":
		parts = append(parts, "message: "+printable(r.GetMessage()))
	}
	if u := r.GetUser(); u != nil {
		parts = append(parts, formatUser(u))
	}
	if len(parts) == 0 {
		parts = append(parts, "empty reply")
	}
	return p.line(strings.Join(parts, "; "))
}

// count prints CountAlreadyUsers' reply to sent requests.
func (p *printer) count(r *pb.UserCntResponse, sent int) error {
	if p.json {
		return p.message(r)
	}
	s := fmt.Sprintf("user_cnt=%d (of %d ids sent)", r.GetUserCnt(), sent)
	if r.GetError() {
		s = "in-band error; " + s
	}
	return p.line(s)
}

// note prints a remark for people, such as that a stream was empty. In
// -json mode it prints nothing: an empty stream is no lines.
func (p *printer) note(format string, args ...any) error {
	if p.json {
		return nil
	}
	return p.line("(" + fmt.Sprintf(format, args...) + ")")
}

// message prints m as protojson. protojson varies its spacing on purpose
// from build to build; compacting it keeps the bytes stable for scripts
// that grep them.
func (p *printer) message(m proto.Message) error {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %T as JSON: %w", m, err)
	}
	var line bytes.Buffer
	if err := json.Compact(&line, b); err != nil {
		return fmt.Errorf("compact %T's JSON: %w", m, err)
	}
	line.WriteByte('\n')
	return p.write(line.Bytes())
}

func (p *printer) line(s string) error {
	return p.write([]byte(s + "\n"))
}

func (p *printer) write(b []byte) error {
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// formatUser writes u as name=value pairs with the proto field names.
func formatUser(u *pb.User) string {
	return fmt.Sprintf("id=%d nickname=%s mail_address=%s user_type=%s",
		u.GetId(), field(u.GetNickname()), field(u.GetMailAddress()), u.GetUserType())
}

// field quotes a value that would not read as one word: empty, or with a
// space, a quote, an = or an unprintable character.
func field(s string) string {
	if s == "" || strings.ContainsAny(s, " \"=") || printable(s) != s {
		return strconv.Quote(s)
	}
	return s
}

// printable quotes s if it holds a character a terminal would not show as
// itself, so a server's text cannot break the one-line-per-message output.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
