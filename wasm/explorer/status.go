package explorer

import (
	"encoding/base64"
	"strconv"
	"strings"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// StatusDetails decodes a call's grpc-status-details-bin trailer as a
// google.rpc.Status and writes it as indented JSON, each detail in
// protojson resolved with the schema's types (the google.rpc error details
// among them), or as its type URL and base64 bytes when no type is known.
// ok is false when the trailer is absent.
func (s *Schema) StatusDetails(trailer metadata.MD) (text string, ok bool) {
	raw := grpcwire.First(trailer, grpcwire.HeaderStatusDetails)
	if raw == "" {
		return "", false
	}
	st := new(spb.Status)
	if err := proto.Unmarshal([]byte(raw), st); err != nil {
		return grpcwire.HeaderStatusDetails + " is not a google.rpc.Status: " + err.Error(), true
	}
	var b strings.Builder
	b.WriteString(`{"code":` + strconv.Itoa(int(st.GetCode())) + `,"message":` + quoteJSON(st.GetMessage()) + `,"details":[`)
	opts := protojson.MarshalOptions{Resolver: s.Types, UseProtoNames: true}
	for i, d := range st.GetDetails() {
		if i > 0 {
			b.WriteByte(',')
		}
		j, err := opts.Marshal(d)
		if err != nil {
			j = []byte(`{"@type":` + quoteJSON(d.GetTypeUrl()) + `,"value":` + quoteJSON(base64.StdEncoding.EncodeToString(d.GetValue())) + `}`)
		}
		b.Write(j)
	}
	b.WriteString("]}")
	return indentJSON(compactJSON(b.String())), true
}
