package explorer

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// WireInfo is a message as it travels: its frame and the fields the schema
// does not know.
type WireInfo struct {
	// Frame is the gRPC frame: the 5-byte prefix (flags, big-endian
	// length), then the message encoded deterministically. A message
	// decoded from the wire encodes to the bytes it came in, up to field
	// order.
	Frame []byte
	// Unknown describes each field the schema does not know, with the
	// path of the message that holds it ("user: field 9 (varint) = 42").
	Unknown []string
}

// maxUnknown bounds the unknown fields Wire describes.
const maxUnknown = 64

// Wire encodes m and describes its unknown fields.
func Wire(m proto.Message) (WireInfo, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return WireInfo{}, err
	}
	w := WireInfo{Frame: grpcwire.AppendFrame(make([]byte, 0, 5+len(b)), grpcwire.FlagData, b)}
	unknownFields(m.ProtoReflect(), "", &w.Unknown)
	return w, nil
}

// WireFrom describes a message as it came: raw is its encoding, as the
// server sent it, and m the same bytes decoded.
func WireFrom(raw []byte, m proto.Message) WireInfo {
	w := WireInfo{Frame: grpcwire.AppendFrame(make([]byte, 0, 5+len(raw)), grpcwire.FlagData, raw)}
	unknownFields(m.ProtoReflect(), "", &w.Unknown)
	return w
}

// unknownFields adds the unknown fields of m and of the messages in it.
func unknownFields(m protoreflect.Message, path string, out *[]string) {
	if raw := m.GetUnknown(); len(raw) > 0 {
		describeUnknown(raw, path, out)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := path + string(fd.Name())
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					unknownFields(mv.Message(), name+"["+k.String()+"].", out)
					return len(*out) < maxUnknown
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := 0; i < v.List().Len() && len(*out) < maxUnknown; i++ {
					unknownFields(v.List().Get(i).Message(), name+"["+strconv.Itoa(i)+"].", out)
				}
			}
		case fd.Message() != nil:
			unknownFields(v.Message(), name+".", out)
		}
		return len(*out) < maxUnknown
	})
}

// describeUnknown adds one line per field in raw, unknown fields' bytes.
func describeUnknown(raw []byte, path string, out *[]string) {
	where := strings.TrimSuffix(path, ".")
	if where == "" {
		where = "(message)"
	}
	for len(raw) > 0 && len(*out) < maxUnknown {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			*out = append(*out, where+": malformed bytes: "+protowire.ParseError(n).Error())
			return
		}
		raw = raw[n:]
		var kind, value string
		switch typ {
		case protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(raw)
			kind, value = "varint", strconv.FormatUint(v, 10)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(raw)
			kind, value = "fixed32", strconv.FormatUint(uint64(v), 10)
		case protowire.Fixed64Type:
			var v uint64
			v, n = protowire.ConsumeFixed64(raw)
			kind, value = "fixed64", strconv.FormatUint(v, 10)
		case protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(raw)
			kind, value = "bytes", describeBytes(v)
		case protowire.StartGroupType:
			var v []byte
			v, n = protowire.ConsumeGroup(num, raw)
			kind, value = "group", strconv.Itoa(len(v))+" bytes"
		default:
			n = -1
		}
		if n < 0 {
			*out = append(*out, where+": field "+strconv.Itoa(int(num))+": malformed value")
			return
		}
		raw = raw[n:]
		*out = append(*out, where+": field "+strconv.Itoa(int(num))+" ("+kind+") = "+value)
	}
}

// describeBytes shows a length-delimited value: as text when it is
// printable, else as hex, at most 32 bytes of it.
func describeBytes(v []byte) string {
	s := strconv.Itoa(len(v)) + " bytes"
	if len(v) == 0 {
		return s
	}
	shown := v[:min(len(v), 32)]
	if utf8.Valid(v) && printable(string(v)) {
		s += ` "` + string(shown)
		if len(shown) < len(v) {
			s += "…"
		}
		return s + `"`
	}
	s += ": " + Hex(shown, len(shown))
	if len(shown) < len(v) {
		s += " …"
	}
	return s
}

func printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// Hex writes at most limit bytes of b as hex pairs, 16 to a line; a line
// "… N more bytes" follows when b is longer.
func Hex(b []byte, limit int) string {
	const digits = "0123456789abcdef"
	shown := b[:min(len(b), limit)]
	var s strings.Builder
	s.Grow(len(shown) * 3)
	for i, c := range shown {
		if i > 0 {
			if i%16 == 0 {
				s.WriteByte('\n')
			} else {
				s.WriteByte(' ')
			}
		}
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	if len(shown) < len(b) {
		s.WriteString("\n… " + strconv.Itoa(len(b)-len(shown)) + " more bytes")
	}
	return s.String()
}
