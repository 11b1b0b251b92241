package explorer

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Template returns a request of message md to start from, as indented
// JSON that protojson accepts and that encodes as it stands:
//   - a well-known type with a JSON form of its own (Timestamp, Duration,
//     Struct, Value, the wrappers...) in that form, at the top as in fields;
//   - every field by its proto name (TextName: a proto2 group's is its type
//     name), at its zero value, nested messages expanded one level;
//   - required fields (proto2, or editions' LEGACY_REQUIRED) always, their
//     messages filled in with their own required fields, however deep;
//   - fields with explicit presence and a declared default left out, so the
//     default holds (the hint says which), rather than zeroed;
//   - a message field deeper than the first level as {}, or left out when
//     {} would lack a required field;
//   - only the first field of each oneof.
//
// hint names what the JSON cannot show: each enum's values, each oneof's
// fields, what an Any holds, the defaults left out.
func Template(md protoreflect.MessageDescriptor) (text string, hint []string) {
	t := &templateWriter{}
	if v, ok := wellKnownZero(md); ok {
		if md.FullName() == "google.protobuf.Any" {
			t.hint = append(t.hint, anyHint("the request"))
		}
		return v, t.hint
	}
	t.message(md, 0, "")
	return t.b.String(), t.hint
}

// maxTemplateDepth bounds how deep required messages are filled in: a
// schema whose required fields recurse cannot be satisfied anyway.
const maxTemplateDepth = 32

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
		required := f.Cardinality() == protoreflect.Required
		switch {
		case required:
		case depth > 1:
			continue // below the first level, only what must be there
		case f.ContainingOneof() != nil && !f.ContainingOneof().IsSynthetic() && f.ContainingOneof().Fields().Get(0) != f:
			continue
		case f.HasPresence() && f.HasDefault() && !f.IsList() && !f.IsMap():
			t.hint = append(t.hint, path+string(f.TextName())+": left out, so the default "+defaultText(f)+" holds")
			continue
		case depth == 1 && isMessage(f) && !f.IsList() && !f.IsMap() && !isWellKnown(f.Message()) && !emptyIsValid(f.Message()):
			continue // {} would lack a required field
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
				names = append(names, string(o.Fields().Get(j).TextName()))
			}
			t.hint = append(t.hint, path+string(o.Name())+" (oneof): set one of "+strings.Join(names, " | "))
		}
		t.b.WriteString(indent + "  " + quoteJSON(f.TextName()) + ": ")
		t.value(f, depth, path+f.TextName())
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
		if f.MapValue().Kind() == protoreflect.EnumKind {
			t.enumHint(f.MapValue().Enum(), path+"[…]")
		}
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
				t.hint = append(t.hint, anyHint(path))
			}
			return
		}
		if depth >= 1 && f.Cardinality() != protoreflect.Required || depth >= maxTemplateDepth {
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

func anyHint(path string) string {
	return path + " (Any): {\"@type\": \"type.googleapis.com/<full message name>\", ...that message's fields}"
}

func (t *templateWriter) enumHint(ed protoreflect.EnumDescriptor, path string) {
	var names []string
	for i := 0; i < ed.Values().Len(); i++ {
		names = append(names, string(ed.Values().Get(i).Name()))
	}
	t.hint = append(t.hint, path+" ("+string(ed.Name())+"): "+strings.Join(names, " | ")+", or their numbers")
}

func isMessage(f protoreflect.FieldDescriptor) bool {
	return f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind
}

func isWellKnown(md protoreflect.MessageDescriptor) bool {
	_, ok := wellKnownZero(md)
	return ok
}

// emptyIsValid reports whether {} is a complete message of md: it has no
// required field.
func emptyIsValid(md protoreflect.MessageDescriptor) bool {
	for i := 0; i < md.Fields().Len(); i++ {
		if md.Fields().Get(i).Cardinality() == protoreflect.Required {
			return false
		}
	}
	return true
}

// defaultText writes a field's declared default as the hint shows it.
func defaultText(f protoreflect.FieldDescriptor) string {
	v := f.Default()
	switch f.Kind() {
	case protoreflect.EnumKind:
		if ev := f.DefaultEnumValue(); ev != nil {
			return string(ev.Name())
		}
	case protoreflect.StringKind:
		return strconv.Quote(v.String())
	case protoreflect.BytesKind:
		return strconv.Quote(string(v.Bytes()))
	}
	return v.String()
}

// zeroEnumName is the name of an enum's zero value, or of its first value
// (a closed enum's default).
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
