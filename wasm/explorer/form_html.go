package explorer

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// HTML writes the form: one row per field, each input named by its path in
// data-field (map keys' inputs in data-map-key), buttons that change the
// shape in data-form-action (add, remove, set, clear) with their data-path,
// and a select per oneof in data-oneof. Nested messages show once opened
// ("set"), so recursive types take as much room as they are given.
func (f *Form) HTML() string {
	var b strings.Builder
	b.WriteString(`<div class="form-fields" data-message="">`)
	f.fields(&b, f.msg, "", 0)
	b.WriteString(`</div>`)
	return b.String()
}

func (f *Form) fields(b *strings.Builder, m protoreflect.Message, prefix string, depth int) {
	if depth > MaxNesting {
		b.WriteString(`<p class="muted">nested more than ` + strconv.Itoa(MaxNesting) + ` levels: edit this deep in JSON</p>`)
		return
	}
	md := m.Descriptor()
	fields := md.Fields()
	done := map[protoreflect.Name]bool{}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if !done[od.Name()] {
				done[od.Name()] = true
				f.oneof(b, m, od, prefix, depth)
			}
			continue
		}
		f.field(b, m, fd, prefix+fd.TextName(), depth)
	}
	if fields.Len() == 0 {
		b.WriteString(`<p class="muted">no fields</p>`)
	}
}

// oneof writes a choice of the oneof's members and the chosen one's row.
func (f *Form) oneof(b *strings.Builder, m protoreflect.Message, od protoreflect.OneofDescriptor, prefix string, depth int) {
	set := m.WhichOneof(od)
	b.WriteString(`<div class="form-row oneof"><label class="form-label"><span class="fname">` + esc(string(od.Name())) +
		`</span><span class="ftype">oneof</span><select data-oneof="` + esc(prefix+string(od.Name())) + `"><option value="">(none)</option>`)
	for i := 0; i < od.Fields().Len(); i++ {
		fd := od.Fields().Get(i)
		sel := ""
		if fd == set {
			sel = " selected"
		}
		b.WriteString(`<option value="` + esc(string(fd.Name())) + `"` + sel + `>` + esc(fd.TextName()) + `</option>`)
	}
	b.WriteString(`</select></label>`)
	if set != nil {
		f.field(b, m, set, prefix+set.TextName(), depth)
	}
	b.WriteString(`</div>`)
}

// field writes one field's row.
func (f *Form) field(b *strings.Builder, m protoreflect.Message, fd protoreflect.FieldDescriptor, path string, depth int) {
	b.WriteString(`<div class="form-row" data-row="` + esc(path) + `"><div class="form-label"><span class="fname">` + esc(fd.TextName()) +
		`</span><span class="ftype">` + esc(typeLabel(fd)) + `</span>`)
	if fd.Cardinality() == protoreflect.Required {
		b.WriteString(`<span class="freq">required</span>`)
	} else if fd.HasPresence() && fd.HasDefault() {
		b.WriteString(`<span class="fdefault">default ` + esc(defaultText(fd)) + `</span>`)
	}
	removable := fd.HasPresence() && fd.Cardinality() != protoreflect.Required && m.Has(fd) && fd.ContainingOneof() == nil
	if removable {
		b.WriteString(`<button type="button" class="link" data-form-action="clear" data-path="` + esc(path) + `" title="unset ` + esc(path) + `">unset</button>`)
	}
	b.WriteString(`</div>`)
	switch {
	case fd.IsList():
		l := m.Get(fd).List()
		b.WriteString(`<div class="form-list">`)
		for i := 0; i < l.Len(); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			b.WriteString(`<div class="form-item"><span class="index">` + strconv.Itoa(i) + `</span>`)
			f.value(b, fd, l.Get(i), true, p, depth)
			b.WriteString(`<button type="button" class="link" data-form-action="remove" data-path="` + esc(p) + `">remove</button></div>`)
		}
		b.WriteString(`<button type="button" class="small secondary" data-form-action="add" data-path="` + esc(path) + `">+ add ` + esc(fd.TextName()) + `</button></div>`)
	case fd.IsMap():
		mp := m.Get(fd).Map()
		b.WriteString(`<div class="form-list">`)
		for _, k := range mapKeys(mp, fd.MapKey()) {
			p := path + "[" + keyText(k, fd.MapKey()) + "]"
			b.WriteString(`<div class="form-item"><input class="map-key" data-map-key="` + esc(p) + `" value="` + esc(k.String()) + `" aria-label="key" size="8"><span class="arrow">→</span>`)
			f.value(b, fd.MapValue(), mp.Get(k), true, p, depth)
			b.WriteString(`<button type="button" class="link" data-form-action="remove" data-path="` + esc(p) + `">remove</button></div>`)
		}
		b.WriteString(`<button type="button" class="small secondary" data-form-action="add" data-path="` + esc(path) + `">+ add entry</button></div>`)
	default:
		f.value(b, fd, m.Get(fd), m.Has(fd) || !fd.HasPresence(), path, depth)
	}
	b.WriteString(`</div>`)
}

// value writes the widget of one value of fd (a field, a list item or a
// map value): set says whether it holds a value.
func (f *Form) value(b *strings.Builder, fd protoreflect.FieldDescriptor, v protoreflect.Value, set bool, path string, depth int) {
	p := esc(path)
	if md := fd.Message(); md != nil {
		if isWellKnown(md) {
			f.wellKnownWidget(b, md, v, set, p)
			return
		}
		if !set {
			b.WriteString(`<button type="button" class="small secondary" data-form-action="set" data-path="` + p + `">+ ` + esc(string(md.Name())) + `</button>`)
			return
		}
		b.WriteString(`<div class="form-message">`)
		f.fields(b, v.Message(), path+".", depth+1)
		b.WriteString(`</div>`)
		return
	}
	text := ""
	if set {
		text = scalarText(fd, v)
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		checked := ""
		if set && v.Bool() {
			checked = " checked"
		}
		b.WriteString(`<input type="checkbox" data-field="` + p + `"` + checked + `>`)
	case protoreflect.EnumKind:
		b.WriteString(`<select data-field="` + p + `">`)
		if !set {
			b.WriteString(`<option value="" selected>(unset)</option>`)
		}
		known := false
		for i := 0; i < fd.Enum().Values().Len(); i++ {
			ev := fd.Enum().Values().Get(i)
			sel := ""
			if set && ev.Number() == v.Enum() && !known {
				sel, known = " selected", true
			}
			b.WriteString(`<option value="` + esc(string(ev.Name())) + `"` + sel + `>` + esc(string(ev.Name())) + ` (` + strconv.Itoa(int(ev.Number())) + `)</option>`)
		}
		if set && !known {
			n := strconv.Itoa(int(v.Enum()))
			b.WriteString(`<option value="` + n + `" selected>` + n + ` (unknown)</option>`)
		}
		b.WriteString(`</select>`)
	case protoreflect.BytesKind:
		b.WriteString(`<input data-field="` + p + `" value="` + esc(text) + `" placeholder="base64" spellcheck="false">` +
			`<label class="file">file <input type="file" data-file-for="` + p + `"></label>`)
	case protoreflect.StringKind:
		b.WriteString(`<input data-field="` + p + `" value="` + esc(text) + `" spellcheck="false">`)
	default:
		mode := "numeric"
		if fd.Kind() == protoreflect.FloatKind || fd.Kind() == protoreflect.DoubleKind {
			mode = "decimal"
		}
		ph := ""
		if !set && fd.HasDefault() {
			ph = ` placeholder="` + esc(defaultText(fd)) + `"`
		}
		b.WriteString(`<input data-field="` + p + `" value="` + esc(text) + `" inputmode="` + mode + `" data-kind="` + fd.Kind().String() + `"` + ph + ` spellcheck="false">`)
	}
}

// wellKnownWidget writes the widget of a well-known type: a date and time
// (UTC) for Timestamp, seconds for Duration, the wrapped scalar's input for
// wrappers, a checkbox for Empty, paths for FieldMask, JSON for the rest.
func (f *Form) wellKnownWidget(b *strings.Builder, md protoreflect.MessageDescriptor, v protoreflect.Value, set bool, p string) {
	var m protoreflect.Message
	if set && v.IsValid() {
		m = v.Message()
	}
	field := func(name string) protoreflect.Value {
		return m.Get(md.Fields().ByName(protoreflect.Name(name)))
	}
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		val := ""
		if m != nil {
			val = time.Unix(field("seconds").Int(), field("nanos").Int()).UTC().Format("2006-01-02T15:04:05.000")
		}
		b.WriteString(`<input type="datetime-local" step="0.001" data-field="` + p + `" data-wkt="timestamp" value="` + esc(val) + `"><span class="unit">UTC</span>`)
	case "google.protobuf.Duration":
		val := ""
		if m != nil {
			d := time.Duration(field("seconds").Int())*time.Second + time.Duration(field("nanos").Int())
			val = strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		}
		b.WriteString(`<input type="number" step="any" data-field="` + p + `" data-wkt="duration" value="` + esc(val) + `"><span class="unit">s</span>`)
	case "google.protobuf.Empty":
		checked := ""
		if m != nil {
			checked = " checked"
		}
		b.WriteString(`<label class="check"><input type="checkbox" data-field="` + p + `" data-wkt="empty"` + checked + `> set</label>`)
	case "google.protobuf.BoolValue":
		checked := ""
		if m != nil && field("value").Bool() {
			checked = " checked"
		}
		b.WriteString(`<input type="checkbox" data-field="` + p + `" data-wkt="wrapper"` + checked + `>`)
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value", "google.protobuf.UInt64Value",
		"google.protobuf.Int32Value", "google.protobuf.UInt32Value", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		val := ""
		if m != nil {
			val = scalarText(md.Fields().ByName("value"), field("value"))
		}
		b.WriteString(`<input data-field="` + p + `" data-wkt="wrapper" value="` + esc(val) + `" placeholder="(unset)" spellcheck="false">`)
	case "google.protobuf.FieldMask":
		val := ""
		if m != nil {
			var paths []string
			l := field("paths").List()
			for i := 0; i < l.Len(); i++ {
				paths = append(paths, l.Get(i).String())
			}
			val = strings.Join(paths, ", ")
		}
		b.WriteString(`<input data-field="` + p + `" data-wkt="fieldmask" value="` + esc(val) + `" placeholder="paths, comma-separated" spellcheck="false">`)
	default: // Struct, Value, ListValue, Any: their JSON
		val := ""
		if m != nil {
			if j, err := (protojson.MarshalOptions{Resolver: f.schema.Types}).Marshal(m.Interface()); err == nil {
				val = compactJSON(string(j))
			}
		}
		b.WriteString(`<textarea rows="2" data-field="` + p + `" data-wkt="json" placeholder="JSON" spellcheck="false">` + esc(val) + `</textarea>`)
	}
}

// scalarText writes a scalar as its input holds it.
func scalarText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.BytesKind:
		return base64.StdEncoding.EncodeToString(v.Bytes())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.FloatKind:
		return strconv.FormatFloat(v.Float(), 'g', -1, 32)
	case protoreflect.DoubleKind:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return v.String()
}

// typeLabel names a field's type as the form shows it.
func typeLabel(fd protoreflect.FieldDescriptor) string {
	name := func(fd protoreflect.FieldDescriptor) string {
		switch {
		case fd.Message() != nil:
			return string(fd.Message().Name())
		case fd.Enum() != nil:
			return string(fd.Enum().Name())
		}
		return fd.Kind().String()
	}
	switch {
	case fd.IsMap():
		return "map<" + name(fd.MapKey()) + ", " + name(fd.MapValue()) + ">"
	case fd.IsList():
		return "repeated " + name(fd)
	}
	return name(fd)
}

// esc makes text safe inside an element or a quoted attribute.
var esc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace
