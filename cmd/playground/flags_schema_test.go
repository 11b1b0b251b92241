package main

import (
	"slices"
	"testing"

	"github.com/grpcplay/playground/server/protofiles"
)

// TestSchemaFlags: -proto, -import-path and -protoset repeat, and come
// from the environment one per line; flags on the command line add to
// the environment's, as -backend-header's do.
func TestSchemaFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want protofiles.Sources
	}{
		{"none", nil, nil, protofiles.Sources{}},
		{
			"repeated",
			[]string{"-proto", "a.proto", "-import-path", "protos", "-proto", "acme/b.proto", "-import-path", "third_party", "-protoset", "x.protoset", "-protoset", "y.binpb"},
			nil,
			protofiles.Sources{Protos: []string{"a.proto", "acme/b.proto"}, ImportPaths: []string{"protos", "third_party"}, Protosets: []string{"x.protoset", "y.binpb"}},
		},
		{
			"environment",
			[]string{"-protoset", "flag.pb"},
			map[string]string{"PLAYGROUND_PROTO": "a.proto\n  acme/b.proto\n\n", "PLAYGROUND_IMPORT_PATH": "protos", "PLAYGROUND_PROTOSET": "env.pb"},
			protofiles.Sources{Protos: []string{"a.proto", "acme/b.proto"}, ImportPaths: []string{"protos"}, Protosets: []string{"env.pb", "flag.pb"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			o, err := parseFlags(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.schema.Protos, tc.want.Protos) || !slices.Equal(o.schema.ImportPaths, tc.want.ImportPaths) || !slices.Equal(o.schema.Protosets, tc.want.Protosets) {
				t.Fatalf("schema %+v; want %+v", o.schema, tc.want)
			}
		})
	}
}
