package grpcwire

import "testing"

func TestHeaderValues(t *testing.T) {
	for _, tc := range []struct {
		name, value, wire string
		ok                bool
	}{
		{"x-text", "hello", "hello", true},
		{"x-text", "two\r\nlines", "", false},
		{"x-raw-bin", "\x00\xff\r\n", "AP8NCg", true},
		{"x-raw-bin", "", "", true},
	} {
		got, ok := EncodeValue(tc.name, tc.value)
		if ok != tc.ok || (ok && got != tc.wire) {
			t.Errorf("EncodeValue(%q, %q) = %q, %v; want %q, %v", tc.name, tc.value, got, ok, tc.wire, tc.ok)
		}
		if !ok {
			continue
		}
		back, err := DecodeValue(tc.name, got)
		if err != nil || back != tc.value {
			t.Errorf("DecodeValue(%q, %q) = %q, %v; want %q", tc.name, got, back, err, tc.value)
		}
	}
	if v, err := DecodeValue("x-raw-bin", "AP8NCg=="); err != nil || v != "\x00\xff\r\n" {
		t.Errorf("padded base64: %q, %v", v, err)
	}
	if _, err := DecodeValue("x-raw-bin", "not base64!"); err == nil {
		t.Error("DecodeValue accepted malformed base64")
	}
	for name, want := range map[string]bool{"x-ok": true, "": false, "has space": false, "a:b": false, "ünï": false} {
		if ValidName(name) != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, !want, want)
		}
	}
}
