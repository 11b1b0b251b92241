package explorer_test

import (
	"reflect"
	"testing"

	"github.com/grpcplay/playground/wasm/explorer"
)

func TestFragment(t *testing.T) {
	s := explorer.Shared{
		Method:   "/UserManager/GetUser",
		Request:  "{\n  \"id\": 1, \"note\": \"a&b=c #d 100% é\"\n}",
		Metadata: "authorization: Bearer x+y/z",
		Deadline: "5s",
	}
	frag := s.Fragment()
	want := "explorer?method=/UserManager/GetUser&request=%7B%0A%20%20%22id%22:%201%2C%20%22note%22:%20%22a%26b%3Dc%20%23d%20100%25%20%C3%A9%22%0A%7D&metadata=authorization:%20Bearer%20x%2By/z&deadline=5s"
	if frag != want {
		t.Fatalf("Fragment() =\n%s\nwant\n%s", frag, want)
	}
	for _, f := range []string{frag, "#" + frag} {
		if got, ok := explorer.ParseFragment(f); !ok || !reflect.DeepEqual(got, s) {
			t.Fatalf("ParseFragment(%q) = %+v, %v; want %+v", f, got, ok, s)
		}
	}
	for _, c := range []struct {
		frag string
		want explorer.Shared
		ok   bool
	}{
		{"", explorer.Shared{}, false},
		{"#top", explorer.Shared{}, false},
		{"#explorers", explorer.Shared{}, false},
		{"#explorer", explorer.Shared{}, true},
		{"#explorer?method=/grpc.health.v1.Health/Check", explorer.Shared{Method: "/grpc.health.v1.Health/Check"}, true},
		{"#explorer?request=%7B%7D%zz%4", explorer.Shared{Request: "{}%zz%4"}, true},
		{(explorer.Shared{Method: "/a/B"}).Fragment(), explorer.Shared{Method: "/a/B"}, true},
	} {
		if got, ok := explorer.ParseFragment(c.frag); ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFragment(%q) = %+v, %v; want %+v, %v", c.frag, got, ok, c.want, c.ok)
		}
	}
}

// A stream's link carries every message sent, in order.
func TestFragmentMessages(t *testing.T) {
	s := explorer.Shared{Method: "/rich.v1.Orders/Chat", Request: `{"id":"c"}`, Messages: []string{`{"id":"a"}`, `{"id":"b&c"}`, `{"id":"c"}`}}
	got, ok := explorer.ParseFragment(s.Fragment())
	if !ok || !reflect.DeepEqual(got, s) {
		t.Fatalf("ParseFragment(%q) = %+v; want %+v", s.Fragment(), got, s)
	}
}
