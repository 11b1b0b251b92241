package explorer

import (
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Form is a request as the page's form view edits it: a message kept in
// step with the request editor's JSON. The page renders it with HTML,
// changes one input with Set, and changes its shape (add a list item or a
// map entry, open or remove a message, choose a oneof member) with Do;
// JSON writes it back for the editor.
//
// Inputs are named by paths of proto field names (TextName, as protojson
// writes them): "customer.name", dots for nesting, "lines[0]" for a list
// index, "labels[5]" or `names["a b"]` for a map key (string keys quoted as
// JSON strings).
type Form struct {
	schema *Schema
	msg    *dynamicpb.Message
}

// NewForm reads the editor's JSON text as a request of m.
func (s *Schema) NewForm(m *Method, text string) (*Form, error) {
	msg, err := s.ParseRequestPartial(m, text)
	if err != nil {
		return nil, err
	}
	return &Form{schema: s, msg: msg}, nil
}

// ParseRequestPartial is ParseRequest without the check that required
// fields are set: the form shows what is missing rather than refusing it.
func (s *Schema) ParseRequestPartial(m *Method, text string) (*dynamicpb.Message, error) {
	msg := m.NewRequest()
	if strings.TrimSpace(text) == "" {
		return msg, nil
	}
	if err := checkNesting(text); err != nil {
		return nil, err
	}
	err := protojson.UnmarshalOptions{Resolver: s.Types, RecursionLimit: MaxNesting, AllowPartial: true}.Unmarshal([]byte(text), msg)
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// JSON writes the form's message for the request editor: indented
// protojson with proto field names, implicit-presence fields at their zero
// values included, unset fields with presence left out.
func (f *Form) JSON() string {
	b, err := protojson.MarshalOptions{Resolver: f.schema.Types, UseProtoNames: true, EmitDefaultValues: true, AllowPartial: true}.Marshal(f.msg)
	if err != nil {
		return "{}"
	}
	return indentJSON(compactJSON(string(b)))
}

// step is one segment of a path: a field, with an index or a map key when
// it has brackets.
type step struct {
	name    string
	key     string // the text in brackets, a JSON string for string keys
	hasKey  bool
	pathEnd int // where the segment ends in the path
}

// parsePath splits a form path into its steps.
func parsePath(path string) ([]step, error) {
	var steps []step
	i := 0
	for i < len(path) {
		j := i
		for j < len(path) && path[j] != '.' && path[j] != '[' {
			j++
		}
		st := step{name: path[i:j]}
		if st.name == "" {
			return nil, errors.New("bad path " + strconv.Quote(path))
		}
		if j < len(path) && path[j] == '[' {
			k := j + 1
			if k < len(path) && path[k] == '"' { // a JSON string: find its closing quote
				k++
				for k < len(path) && path[k] != '"' {
					if path[k] == '\\' {
						k++
					}
					k++
				}
				k++
			} else {
				for k < len(path) && path[k] != ']' {
					k++
				}
			}
			if k >= len(path) || path[k] != ']' {
				return nil, errors.New("bad path " + strconv.Quote(path))
			}
			st.key, st.hasKey = path[j+1:k], true
			j = k + 1
		}
		st.pathEnd = j
		steps = append(steps, st)
		if j < len(path) {
			if path[j] != '.' {
				return nil, errors.New("bad path " + strconv.Quote(path))
			}
			j++
		}
		i = j
	}
	if len(steps) == 0 {
		return nil, errors.New("empty path")
	}
	return steps, nil
}

// slot is where a path leads: a field of a message, an element of its list
// or an entry of its map.
type slot struct {
	parent protoreflect.Message
	fd     protoreflect.FieldDescriptor
	index  int // for a list element; -1 otherwise
	key    protoreflect.MapKey
	hasKey bool // a map entry
}

// resolve walks path from the form's message, creating the messages on the
// way (they are on the form, so they exist, unless the path is stale).
func (f *Form) resolve(path string) (slot, error) {
	steps, err := parsePath(path)
	if err != nil {
		return slot{}, err
	}
	m := protoreflect.Message(f.msg)
	for n, st := range steps {
		fd := fieldByName(m.Descriptor(), st.name)
		if fd == nil {
			return slot{}, errors.New(string(m.Descriptor().FullName()) + " has no field " + st.name)
		}
		s := slot{parent: m, fd: fd, index: -1}
		if st.hasKey {
			switch {
			case fd.IsList():
				i, err := strconv.Atoi(st.key)
				if err != nil || i < 0 || i >= m.Get(fd).List().Len() {
					return slot{}, errors.New("no item " + st.key + " in " + st.name)
				}
				s.index = i
			case fd.IsMap():
				k, err := parseMapKey(fd.MapKey(), st.key)
				if err != nil {
					return slot{}, err
				}
				s.key, s.hasKey = k, true
			default:
				return slot{}, errors.New(st.name + " is neither a list nor a map")
			}
		}
		if n == len(steps)-1 {
			return s, nil
		}
		// Go into the message the step names.
		switch {
		case s.index >= 0 && fd.Message() != nil:
			m = m.Mutable(fd).List().Get(s.index).Message()
		case s.hasKey && fd.MapValue().Message() != nil:
			mp := m.Mutable(fd).Map()
			if !mp.Has(s.key) {
				return slot{}, errors.New("no entry " + st.key + " in " + st.name)
			}
			m = mp.Mutable(s.key).Message()
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			m = m.Mutable(fd).Message()
		default:
			return slot{}, errors.New(path[:st.pathEnd] + " holds no message")
		}
	}
	return slot{}, errors.New("empty path")
}

func fieldByName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByTextName(name); fd != nil {
		return fd
	}
	return md.Fields().ByName(protoreflect.Name(name))
}

// parseMapKey reads a map key as the form writes it.
func parseMapKey(kd protoreflect.FieldDescriptor, text string) (protoreflect.MapKey, error) {
	if kd.Kind() == protoreflect.StringKind {
		s, err := strconv.Unquote(text)
		if err != nil {
			s = text
		}
		return protoreflect.ValueOfString(s).MapKey(), nil
	}
	v, err := parseScalar(kd, text)
	if err != nil {
		return protoreflect.MapKey{}, errors.New("key: " + err.Error())
	}
	return v.MapKey(), nil
}

// keyText writes a map key as paths hold it.
func keyText(k protoreflect.MapKey, kd protoreflect.FieldDescriptor) string {
	if kd.Kind() == protoreflect.StringKind {
		return quoteJSON(k.String())
	}
	return k.String()
}

// Set sets the value an input holds: a scalar's text (a number, true or
// false, an enum's name, base64 for bytes), or a well-known type's widget
// value (a UTC date and time, seconds, the JSON of a Struct...). An empty
// value unsets a field with presence. The error says what the input should
// hold; the message is left as it was.
func (f *Form) Set(path, value string) error {
	s, err := f.resolve(path)
	if err != nil {
		return err
	}
	fd := s.fd
	kind := fd
	if s.hasKey {
		kind = fd.MapValue()
	}
	if fd.IsList() && s.index < 0 || fd.IsMap() && !s.hasKey {
		return errors.New(path + " is a list or a map: set its items")
	}
	var v protoreflect.Value
	if md := kind.Message(); md != nil {
		if !isWellKnown(md) {
			return errors.New(path + " is a message: set its fields")
		}
		if value == "" && s.index < 0 && !s.hasKey {
			s.parent.Clear(fd)
			return nil
		}
		msg, err := f.wellKnown(md, value)
		if err != nil {
			return err
		}
		v = protoreflect.ValueOfMessage(msg)
	} else {
		if value == "" && fd.HasPresence() && s.index < 0 && !s.hasKey && kind.Kind() != protoreflect.StringKind && kind.Kind() != protoreflect.BytesKind {
			s.parent.Clear(fd)
			return nil
		}
		if v, err = parseScalar(kind, value); err != nil {
			return err
		}
	}
	switch {
	case s.index >= 0:
		s.parent.Mutable(fd).List().Set(s.index, v)
	case s.hasKey:
		s.parent.Mutable(fd).Map().Set(s.key, v)
	default:
		s.parent.Set(fd, v)
	}
	return nil
}

// wellKnown reads a well-known type's widget value.
func (f *Form) wellKnown(md protoreflect.MessageDescriptor, value string) (protoreflect.Message, error) {
	text := value
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		t, err := parseUTC(value)
		if err != nil {
			return nil, err
		}
		text = quoteJSON(t.Format(time.RFC3339Nano))
	case "google.protobuf.Duration":
		secs, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), "s"), 64)
		if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return nil, errors.New("a duration is a number of seconds, such as 1.5")
		}
		text = quoteJSON(strconv.FormatFloat(secs, 'f', -1, 64) + "s")
	case "google.protobuf.FieldMask":
		var paths []string
		for _, p := range strings.Split(value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				paths = append(paths, p)
			}
		}
		text = quoteJSON(strings.Join(paths, ","))
	case "google.protobuf.Empty":
		text = "{}"
	case "google.protobuf.StringValue":
		text = quoteJSON(value)
	case "google.protobuf.BytesValue", "google.protobuf.Int64Value", "google.protobuf.UInt64Value":
		text = quoteJSON(strings.TrimSpace(value))
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue", "google.protobuf.Any":
		if err := checkNesting(value); err != nil {
			return nil, err
		}
	}
	msg := dynamicpb.NewMessage(md)
	err := protojson.UnmarshalOptions{Resolver: f.schema.Types, RecursionLimit: MaxNesting}.Unmarshal([]byte(text), msg)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "proto: "))
	}
	return msg, nil
}

// parseUTC reads a datetime-local input's value ("2024-05-06T07:08" with
// optional seconds and fraction) as UTC, or an RFC 3339 time.
func parseUTC(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("a time is a date and time in UTC, such as 2024-05-06T07:08:09")
}

// parseScalar reads a scalar field's value from an input's text.
func parseScalar(fd protoreflect.FieldDescriptor, text string) (protoreflect.Value, error) {
	t := strings.TrimSpace(text)
	bad := func(what string) (protoreflect.Value, error) {
		return protoreflect.Value{}, errors.New(what)
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		switch t {
		case "true":
			return protoreflect.ValueOfBool(true), nil
		case "false", "":
			return protoreflect.ValueOfBool(false), nil
		}
		return bad("true or false")
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByName(protoreflect.Name(t)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
		n, err := strconv.ParseInt(t, 10, 32)
		if err != nil {
			return bad("one of the values of " + string(fd.Enum().Name()) + ", or a number")
		}
		if fd.Enum().IsClosed() && fd.Enum().Values().ByNumber(protoreflect.EnumNumber(n)) == nil {
			return bad(string(fd.Enum().Name()) + " is closed: " + t + " is none of its values")
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(t, 10, 32)
		if err != nil {
			return bad("a whole number from -2147483648 to 2147483647")
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return bad("a whole number from -9223372036854775808 to 9223372036854775807")
		}
		return protoreflect.ValueOfInt64(n), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(t, 10, 32)
		if err != nil {
			return bad("a whole number from 0 to 4294967295")
		}
		return protoreflect.ValueOfUint32(uint32(n)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(t, 10, 64)
		if err != nil {
			return bad("a whole number from 0 to 18446744073709551615")
		}
		return protoreflect.ValueOfUint64(n), nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		bits := 64
		if fd.Kind() == protoreflect.FloatKind {
			bits = 32
		}
		switch t {
		case "NaN":
			return floatValue(fd, math.NaN()), nil
		case "Infinity":
			return floatValue(fd, math.Inf(1)), nil
		case "-Infinity":
			return floatValue(fd, math.Inf(-1)), nil
		}
		x, err := strconv.ParseFloat(t, bits)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return bad("a number, NaN, Infinity or -Infinity")
		}
		return floatValue(fd, x), nil
	case protoreflect.StringKind:
		if !utf8.ValidString(text) {
			return bad("valid UTF-8 text")
		}
		return protoreflect.ValueOfString(text), nil
	case protoreflect.BytesKind:
		b, err := decodeAnyBase64(t)
		if err != nil {
			return bad("base64 (standard or URL-safe, padded or not), or choose a file")
		}
		return protoreflect.ValueOfBytes(b), nil
	}
	return bad("a value the form cannot edit")
}

func floatValue(fd protoreflect.FieldDescriptor, x float64) protoreflect.Value {
	if fd.Kind() == protoreflect.FloatKind {
		return protoreflect.ValueOfFloat32(float32(x))
	}
	return protoreflect.ValueOfFloat64(x)
}

func decodeAnyBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Do changes the form's shape at path: "add" appends a list item or a map
// entry (at the next free key) to the list or map at path; "remove" takes
// out the list item or map entry at path; "set" opens the message at path
// (its required fields filled); "clear" unsets the field at path; "oneof"
// chooses arg, a member of the oneof named by path ("payment", or
// "customer.payment"), or none when arg is empty; "key" moves the map
// entry at path to the key arg.
func (f *Form) Do(action, path, arg string) error {
	if action == "oneof" {
		return f.chooseOneof(path, arg)
	}
	s, err := f.resolve(path)
	if err != nil {
		return err
	}
	fd := s.fd
	switch action {
	case "add":
		switch {
		case fd.IsList() && s.index < 0:
			l := s.parent.Mutable(fd).List()
			l.Append(f.newValue(fd, l))
			return nil
		case fd.IsMap() && !s.hasKey:
			mp := s.parent.Mutable(fd).Map()
			mp.Set(nextKey(fd.MapKey(), mp), f.newValue(fd.MapValue(), nil))
			return nil
		}
		return errors.New(path + " is neither a list nor a map")
	case "remove":
		switch {
		case s.index >= 0:
			l := s.parent.Mutable(fd).List()
			for i := s.index; i < l.Len()-1; i++ {
				l.Set(i, l.Get(i+1))
			}
			l.Truncate(l.Len() - 1)
			return nil
		case s.hasKey:
			s.parent.Mutable(fd).Map().Clear(s.key)
			return nil
		}
		return errors.New(path + " is not a list item or a map entry")
	case "set":
		if fd.Message() == nil || fd.IsList() || fd.IsMap() {
			return errors.New(path + " is not a message field")
		}
		s.parent.Set(fd, f.newValue(fd, nil))
		return nil
	case "clear":
		if fd.Cardinality() == protoreflect.Required {
			return errors.New(path + " is required")
		}
		s.parent.Clear(fd)
		return nil
	case "key":
		if !s.hasKey {
			return errors.New(path + " is not a map entry")
		}
		k, err := parseMapKey(fd.MapKey(), arg)
		if err != nil {
			return err
		}
		mp := s.parent.Mutable(fd).Map()
		if k.Interface() == s.key.Interface() {
			return nil
		}
		if mp.Has(k) {
			return errors.New("key " + arg + " is taken")
		}
		v := mp.Get(s.key)
		mp.Clear(s.key)
		mp.Set(k, v)
		return nil
	}
	return errors.New("unknown form action " + action)
}

// newValue is a new item of fd: a message with its required fields filled,
// or a scalar's zero (a closed enum's first value).
func (f *Form) newValue(fd protoreflect.FieldDescriptor, l protoreflect.List) protoreflect.Value {
	if md := fd.Message(); md != nil {
		m := dynamicpb.NewMessage(md)
		fillRequired(m, 0)
		return protoreflect.ValueOfMessage(m)
	}
	if fd.Kind() == protoreflect.EnumKind {
		if ev := fd.Enum().Values().ByName(protoreflect.Name(zeroEnumName(fd.Enum()))); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number())
		}
	}
	if l != nil {
		return l.NewElement()
	}
	return fd.Default()
}

// fillRequired sets m's required fields, their messages filled the same
// way, however deep (up to maxTemplateDepth).
func fillRequired(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Cardinality() != protoreflect.Required || m.Has(fd) {
			continue
		}
		switch {
		case fd.Message() != nil:
			if depth < maxTemplateDepth {
				fillRequired(m.Mutable(fd).Message(), depth+1)
			}
		case fd.Kind() == protoreflect.EnumKind && fd.Enum().Values().Len() > 0:
			m.Set(fd, protoreflect.ValueOfEnum(fd.Enum().Values().Get(0).Number()))
		default:
			m.Set(fd, fd.Default())
		}
	}
}

// nextKey is a key the map does not hold: the zero key, else the smallest
// whole number above the largest (for strings, "key2", "key3"...).
func nextKey(kd protoreflect.FieldDescriptor, mp protoreflect.Map) protoreflect.MapKey {
	for i := 0; ; i++ {
		var v protoreflect.Value
		switch kd.Kind() {
		case protoreflect.StringKind:
			s := ""
			if i > 0 {
				s = "key" + strconv.Itoa(i+1)
			}
			v = protoreflect.ValueOfString(s)
		case protoreflect.BoolKind:
			if i > 1 {
				return protoreflect.ValueOfBool(false).MapKey() // both taken: replace false
			}
			v = protoreflect.ValueOfBool(i == 1)
		default:
			var err error
			if v, err = parseScalar(kd, strconv.Itoa(i)); err != nil {
				return kd.Default().MapKey()
			}
		}
		if k := v.MapKey(); !mp.Has(k) {
			return k
		}
	}
}

// chooseOneof sets the oneof at path to its member name (at its zero, or
// a new message), or clears it when name is empty.
func (f *Form) chooseOneof(path, name string) error {
	parent := protoreflect.Message(f.msg)
	oneof := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		s, err := f.resolve(path[:i])
		if err != nil {
			return err
		}
		if s.fd.Message() == nil || s.index >= 0 || s.hasKey {
			return errors.New(path[:i] + " is not a message field")
		}
		parent, oneof = s.parent.Mutable(s.fd).Message(), path[i+1:]
	}
	od := parent.Descriptor().Oneofs().ByName(protoreflect.Name(oneof))
	if od == nil {
		return errors.New("no oneof " + oneof)
	}
	if name == "" {
		if set := parent.WhichOneof(od); set != nil {
			parent.Clear(set)
		}
		return nil
	}
	fd := od.Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		return errors.New(oneof + " has no member " + name)
	}
	if parent.WhichOneof(od) == fd {
		return nil
	}
	parent.Set(fd, f.newValue(fd, nil))
	return nil
}

// mapKeys returns a map's keys in order: numbers by value, strings and
// bools by text.
func mapKeys(mp protoreflect.Map, kd protoreflect.FieldDescriptor) []protoreflect.MapKey {
	var keys []protoreflect.MapKey
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, func(a, b protoreflect.MapKey) int {
		switch kd.Kind() {
		case protoreflect.StringKind, protoreflect.BoolKind:
			return strings.Compare(a.String(), b.String())
		case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			return cmpOrdered(a.Uint(), b.Uint())
		}
		return cmpOrdered(a.Int(), b.Int())
	})
	return keys
}

func cmpOrdered[T int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
