package explorer

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Template returns a request of message md to start from, as indented
// JSON: every field at its zero value, by its proto name, with nested
// messages expanded one level (their own message fields as {}), and only
// the first field of each oneof. hint names what the JSON cannot show: each
// enum's values, each oneof's fields, what an Any holds.
func Template(md protoreflect.MessageDescriptor) (text string, hint []string) {
	t := &templateWriter{}
	t.message(md, 0, "")
	return t.b.String(), t.hint
}

type templateWriter struct {
	b    strings.Builder
	hint []string
}

// message writes md's fields as an object; depth is 0 for the request, 1
// for its message fields; path prefixes hint lines ("user.").
func (t *templateWriter) message(md protoreflect.MessageDescriptor, depth int, path string) {
	fields := md.Fields()
	var shown []protoreflect.FieldDescriptor
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() && o.Fields().Get(0) != f {
			continue
		}
		shown = append(shown, f)
	}
	if len(shown) == 0 {
		t.b.WriteString("{}")
		return
	}
	indent := strings.Repeat("  ", depth)
	t.b.WriteString("{\n")
	for i, f := range shown {
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
			var names []string
			for j := 0; j < o.Fields().Len(); j++ {
				names = append(names, string(o.Fields().Get(j).Name()))
			}
			t.hint = append(t.hint, path+string(o.Name())+" (oneof): set one of "+strings.Join(names, " | "))
		}
		t.b.WriteString(indent + "  " + quoteJSON(string(f.Name())) + ": ")
		t.value(f, depth, path+string(f.Name()))
		if i < len(shown)-1 {
			t.b.WriteByte(',')
		}
		t.b.WriteByte('\n')
	}
	t.b.WriteString(indent + "}")
}

// value writes the zero value of field f.
func (t *templateWriter) value(f protoreflect.FieldDescriptor, depth int, path string) {
	switch {
	case f.IsMap():
		t.b.WriteString("{}")
		return
	case f.IsList():
		t.b.WriteString("[]")
		if f.Kind() == protoreflect.EnumKind {
			t.enumHint(f.Enum(), path+"[]")
		}
		return
	}
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := f.Message()
		if v, ok := wellKnownZero(md); ok {
			t.b.WriteString(v)
			if md.FullName() == "google.protobuf.Any" {
				t.hint = append(t.hint, path+" (Any): {\"@type\": \"type.googleapis.com/<full message name>\", ...that message's fields}")
			}
			return
		}
		if depth >= 1 {
			t.b.WriteString("{}")
			return
		}
		t.message(md, depth+1, path+".")
	case protoreflect.EnumKind:
		if f.Enum().FullName() == "google.protobuf.NullValue" {
			t.b.WriteString("null")
			return
		}
		t.b.WriteString(quoteJSON(zeroEnumName(f.Enum())))
		t.enumHint(f.Enum(), path)
	case protoreflect.BoolKind:
		t.b.WriteString("false")
	case protoreflect.StringKind, protoreflect.BytesKind:
		t.b.WriteString(`""`)
	default:
		t.b.WriteString("0")
	}
}

func (t *templateWriter) enumHint(ed protoreflect.EnumDescriptor, path string) {
	var names []string
	for i := 0; i < ed.Values().Len(); i++ {
		names = append(names, string(ed.Values().Get(i).Name()))
	}
	t.hint = append(t.hint, path+" ("+string(ed.Name())+"): "+strings.Join(names, " | ")+", or their numbers")
}

// zeroEnumName is the name of an enum's zero value, or of its first value.
func zeroEnumName(ed protoreflect.EnumDescriptor) string {
	if v := ed.Values().ByNumber(0); v != nil {
		return string(v.Name())
	}
	if ed.Values().Len() > 0 {
		return string(ed.Values().Get(0).Name())
	}
	return "0"
}

// wellKnownZero is the JSON zero value of a well-known type, which protojson
// writes in a form of its own.
func wellKnownZero(md protoreflect.MessageDescriptor) (string, bool) {
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		return `"1970-01-01T00:00:00Z"`, true
	case "google.protobuf.Duration":
		return `"0s"`, true
	case "google.protobuf.FieldMask", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		return `""`, true
	case "google.protobuf.Value":
		return "null", true
	case "google.protobuf.ListValue":
		return "[]", true
	case "google.protobuf.Struct", "google.protobuf.Empty", "google.protobuf.Any":
		return "{}", true
	case "google.protobuf.BoolValue":
		return "false", true
	case "google.protobuf.Int32Value", "google.protobuf.Int64Value", "google.protobuf.UInt32Value",
		"google.protobuf.UInt64Value", "google.protobuf.FloatValue", "google.protobuf.DoubleValue":
		return "0", true
	}
	return "", false
}

// quoteJSON quotes s as a JSON string.
func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteString(strconv.FormatInt(int64(r)>>4, 16))
			b.WriteString(strconv.FormatInt(int64(r)&15, 16))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
