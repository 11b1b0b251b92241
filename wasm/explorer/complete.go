package explorer

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Completion is what the request editor offers at its cursor: Items to put
// in place of the text from From to To (byte offsets), each as Insert.
type Completion struct {
	From, To int
	Items    []CompletionItem
}

// CompletionItem is one offer: Label to show, Insert to type.
type CompletionItem struct {
	Label, Insert string
}

// frame is an object or array the cursor is inside.
type frame struct {
	array bool
	md    protoreflect.MessageDescriptor // the message an object is, or nil
	fd    protoreflect.FieldDescriptor   // the field whose value this is, or nil
	isMap bool                           // an object that is a map's entries
	key   string                         // the last key read in an object
	keys  []string                       // the keys read so far
	// afterColon: in an object, between a key's colon and its value's end.
	afterColon bool
}

// Complete offers field names where a key is being typed, and enum values
// (and true or false) where a value is, for a request of md written in
// text with the cursor at the byte offset cursor. It scans without
// recursing, so any text is safe.
func Complete(md protoreflect.MessageDescriptor, text string, cursor int) Completion {
	cursor = min(max(cursor, 0), len(text))
	var stack []frame
	top := func() *frame {
		if len(stack) == 0 {
			return nil
		}
		return &stack[len(stack)-1]
	}
	// child is the frame for a value opened inside f.
	child := func(f *frame, array bool) frame {
		c := frame{array: array}
		switch {
		case f == nil:
			c.md = md
			if isWellKnown(md) {
				c.md = nil
			}
		case f.array:
			if f.fd != nil && f.fd.Message() != nil && !isWellKnown(f.fd.Message()) {
				c.md, c.fd = f.fd.Message(), f.fd
			}
		case f.isMap:
			if f.fd != nil {
				mv := f.fd.MapValue()
				c.fd = mv
				if mv.Message() != nil && !isWellKnown(mv.Message()) {
					c.md = mv.Message()
				}
			}
		case f.md != nil:
			fd := fieldByJSONKey(f.md, f.key)
			c.fd = fd
			if fd != nil {
				switch {
				case fd.IsMap():
					c.isMap = !array
				case fd.IsList():
					// an array of fd's values
				case fd.Message() != nil && !isWellKnown(fd.Message()):
					c.md = fd.Message()
				}
			}
		}
		return c
	}
	i := 0
	for i < cursor {
		c := text[i]
		switch {
		case c == '"':
			start := i
			j := i + 1
			for j < len(text) && text[j] != '"' && text[j] != '\n' {
				if text[j] == '\\' {
					j++
				}
				j++
			}
			if j >= cursor || j >= len(text) || text[j] != '"' { // the cursor is in this string
				return offer(top(), text, start, cursor)
			}
			if f := top(); f != nil && !f.array && !f.afterColon {
				f.key = unquoteKey(text[start : j+1])
				f.keys = append(f.keys, f.key)
			}
			i = j + 1
			continue
		case c == '{' || c == '[':
			stack = append(stack, child(top(), c == '['))
		case c == '}' || c == ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if f := top(); f != nil && !f.array {
				f.afterColon = false
			}
		case c == ':':
			if f := top(); f != nil && !f.array {
				f.afterColon = true
			}
		case c == ',':
			if f := top(); f != nil && !f.array {
				f.afterColon = false
			}
		case isWordByte(c):
			j := i
			for j < len(text) && isWordByte(text[j]) {
				j++
			}
			if j >= cursor {
				return offer(top(), text, i, cursor)
			}
			i = j
			continue
		}
		i++
	}
	return offer(top(), text, cursor, cursor)
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// offer lists what fits where the text from start to cursor is typed.
func offer(f *frame, text string, start, cursor int) Completion {
	c := Completion{From: start, To: cursor}
	if f == nil {
		return c
	}
	// Replace the whole token under the cursor: its rest and closing quote.
	end := cursor
	for end < len(text) && (isWordByte(text[end]) || text[end] == ' ' && start < len(text) && text[start] == '"') && text[end] != '"' {
		end++
	}
	if end < len(text) && text[end] == '"' && start < len(text) && text[start] == '"' {
		end++
	}
	c.To = end
	prefix := strings.TrimPrefix(text[start:cursor], `"`)
	switch {
	case !f.array && !f.afterColon && f.md != nil && !f.isMap: // a key
		fields := f.md.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			name := fd.TextName()
			if slices.Contains(f.keys, name) || slices.Contains(f.keys, fd.JSONName()) || !strings.HasPrefix(name, prefix) {
				continue
			}
			c.Items = append(c.Items, CompletionItem{Label: name + " · " + typeLabel(fd), Insert: quoteJSON(name) + ": "})
		}
	default: // a value
		var fd protoreflect.FieldDescriptor
		switch {
		case f.array:
			fd = f.fd
		case f.isMap && f.fd != nil:
			fd = f.fd.MapValue()
		case f.md != nil:
			fd = fieldByJSONKey(f.md, f.key)
		}
		if fd == nil {
			return c
		}
		if fd.IsMap() && !f.isMap {
			fd = nil
		}
		switch {
		case fd == nil:
		case fd.Kind() == protoreflect.EnumKind && fd.Enum().FullName() != "google.protobuf.NullValue":
			for i := 0; i < fd.Enum().Values().Len(); i++ {
				name := string(fd.Enum().Values().Get(i).Name())
				if strings.HasPrefix(name, prefix) {
					c.Items = append(c.Items, CompletionItem{Label: name, Insert: quoteJSON(name)})
				}
			}
		case fd.Kind() == protoreflect.BoolKind:
			for _, v := range []string{"true", "false"} {
				if strings.HasPrefix(v, prefix) {
					c.Items = append(c.Items, CompletionItem{Label: v, Insert: v})
				}
			}
		}
	}
	return c
}

// fieldByJSONKey finds the field a JSON key names: its JSON name or its
// proto name, as protojson takes them.
func fieldByJSONKey(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByJSONName(key); fd != nil {
		return fd
	}
	return md.Fields().ByTextName(key)
}

func unquoteKey(q string) string {
	s := strings.TrimSuffix(strings.TrimPrefix(q, `"`), `"`)
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
