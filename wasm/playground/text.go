//go:build js && wasm

package main

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
)

func messageSuffix(m string) string {
	if m == "" {
		return ""
	}
	return ": " + m
}

func formatMD(title string, md metadata.MD) string {
	if len(md) == 0 {
		return ""
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(title + ":\n")
	for _, k := range keys {
		for _, v := range md[k] {
			if strings.HasSuffix(k, "-bin") {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			b.WriteString("  " + k + ": " + v + "\n")
		}
	}
	return b.String()
}

// escapeHTML makes text safe inside an element or a quoted attribute. It is
// html.EscapeString without the html package, whose entity table would
// add 100 kB to main.wasm.
var escapeHTML = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

func plural(n int, what string) string {
	s := strconv.Itoa(n) + " " + what
	if n != 1 {
		s += "s"
	}
	return s
}

// short cuts a long message for the log.
func short(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
