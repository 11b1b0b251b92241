package explorer

import (
	"errors"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// ParseRequest reads a request of m from JSON, as protojson accepts it:
// 64-bit integers as numbers or strings, enum values by name or number,
// fields by json_name or proto name, Any with any type the schema knows.
// Empty text is the empty message. The error is protojson's, which names
// the field at fault.
func (s *Schema) ParseRequest(m *Method, text string) (*dynamicpb.Message, error) {
	msg := m.NewRequest()
	if strings.TrimSpace(text) == "" {
		return msg, nil
	}
	if err := checkNesting(text); err != nil {
		return nil, err
	}
	if err := (protojson.UnmarshalOptions{Resolver: s.Types, RecursionLimit: MaxNesting}).Unmarshal([]byte(text), msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// MaxNesting bounds how deeply the page nests messages, and JSON objects
// and arrays, in requests and responses: protobuf's own limits (10,000)
// are deeper than the browser's stack lets a Go program in WebAssembly
// recurse, and a request 2,000 levels deep would end the program. C++ and
// Java's protobuf stop at 100.
const MaxNesting = 200

// checkNesting refuses JSON nested deeper than MaxNesting, saying where,
// before any parser recurses into it.
func checkNesting(text string) error {
	depth, line, col := 0, 1, 1
	inString, escaped := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > MaxNesting {
				return errors.New("(line " + strconv.Itoa(line) + ":" + strconv.Itoa(col) + "): nested more than " +
					strconv.Itoa(MaxNesting) + " levels deep; the page takes at most " + strconv.Itoa(MaxNesting))
			}
		case c == '}' || c == ']':
			depth--
		}
		if c == '\n' {
			line, col = line+1, 1
		} else if c < 0x80 || c >= 0xC0 {
			col++ // one column per character, as protojson counts
		}
	}
	return nil
}

// ErrorPosition finds the line and column protojson names in err
// ("(line 3:14): unknown field"), and the message without them.
func ErrorPosition(err error) (line, col int, msg string, ok bool) {
	s := err.Error()
	i := strings.Index(s, "(line ")
	if i < 0 {
		return 0, 0, s, false
	}
	j := strings.Index(s[i:], ")")
	if j < 0 {
		return 0, 0, s, false
	}
	l, c, found := strings.Cut(s[i+len("(line "):i+j], ":")
	line, err1 := strconv.Atoi(l)
	col, err2 := strconv.Atoi(c)
	if !found || err1 != nil || err2 != nil {
		return 0, 0, s, false
	}
	msg = strings.TrimSpace(strings.TrimPrefix(s[:i], "proto:") + s[i+j+1:])
	msg = strings.TrimPrefix(strings.TrimSpace(msg), ": ")
	return line, col, msg, true
}

// UnmarshalResponse decodes a response message's bytes into m, refusing
// messages nested deeper than MaxNesting.
func UnmarshalResponse(b []byte, m proto.Message) error {
	return proto.UnmarshalOptions{RecursionLimit: MaxNesting}.Unmarshal(b, m)
}

// FormatMessage writes m as protojson with the proto field names and every
// field, set or not: on one line, or indented by two spaces when
// multiline.
func (s *Schema) FormatMessage(m proto.Message, multiline bool) (string, error) {
	b, err := protojson.MarshalOptions{Resolver: s.Types, UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return "", err
	}
	// protojson varies its spacing on purpose; ours is the same every time.
	text := compactJSON(string(b))
	if multiline {
		text = indentJSON(text)
	}
	return text, nil
}

// compactJSON drops the spaces, tabs and line breaks outside strings:
// JSON text without its insignificant spaces. Text that is not JSON is
// compacted the same way.
func compactJSON(text string) string {
	b := make([]byte, 0, len(text))
	inString, escaped := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// indentJSON lays out compact JSON one value to a line, indented by two
// spaces a level, as the page shows messages.
func indentJSON(compact string) string {
	var b strings.Builder
	depth := 0
	newline := func() {
		b.WriteByte('\n')
		for range depth {
			b.WriteString("  ")
		}
	}
	inString, escaped := false, false
	for i := 0; i < len(compact); i++ {
		c := compact[i]
		if inString {
			b.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			b.WriteByte(c)
		case '{', '[':
			b.WriteByte(c)
			if i+1 < len(compact) && (compact[i+1] == '}' || compact[i+1] == ']') {
				b.WriteByte(compact[i+1]) // {} and [] stay whole
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			b.WriteByte(c)
		case ',':
			b.WriteByte(c)
			newline()
		case ':':
			b.WriteString(": ")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// IndentJSON lays out compact JSON (FormatMessage's one-line form) as
// FormatMessage's multiline form: one value to a line, two spaces a level.
func IndentJSON(compact string) string { return indentJSON(compact) }

// CompactJSON returns JSON text without its insignificant spaces, as the
// page shows requests sent and grpcurl takes them.
func CompactJSON(text string) string { return compactJSON(text) }
