package static_test

// The explorer in Chromium before a backend whose reflection is off:
// grpc-go's route_guide example (edition 2023), with the playground as its
// front. With the schema given to the front (-proto: Config.Schema, loaded
// by protofiles as the flag does), the front answers reflection from the
// files; without it, the page is given a descriptor set and .proto files.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcplay/playground/proto/protosource"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/protofiles"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/server/servertest/explorertest"
	"github.com/grpcplay/playground/server/servertest/routeguidetest"
)

// routeGuideMethods are the example's methods as the explorer lists them.
var routeGuideMethods = []string{
	"/routeguide.RouteGuide/GetFeature", "/routeguide.RouteGuide/ListFeatures",
	"/routeguide.RouteGuide/RecordRoute", "/routeguide.RouteGuide/RouteChat",
}

// guideAdmin is a .proto of ours that imports route_guide.proto by the
// path of its folder in the example ("routeguide/"), and a well-known
// file: given beside route_guide.proto, whose name a browser gives
// without its folder, the import must still resolve.
const guideAdmin = `syntax = "proto3";
package guideadmin;
import "routeguide/route_guide.proto";
import "google/protobuf/empty.proto";
service GuideAdmin { rpc Newest(google.protobuf.Empty) returns (routeguide.Feature); }
`

// schemaState is the schema status's state, source and text.
func schemaState(ctx context.Context, t *testing.T) (state, source, text string) {
	t.Helper()
	s := evalJS[[]string](ctx, t, `(() => { const e = document.querySelector('[data-explorer] [data-role="schema-status"]');
		return [e.dataset.state ?? "", e.dataset.source ?? "", e.textContent]; })()`)
	return s[0], s[1], s[2]
}

// listed returns the values of the methods the explorer offers.
func listed(ctx context.Context, t *testing.T) []string {
	t.Helper()
	return evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] select[name="method"] option:not([disabled])')].map(o => o.value)`)
}

// compilerFetched reports whether the page has asked for the .proto
// compiler program.
func compilerFetched(ctx context.Context, t *testing.T) bool {
	t.Helper()
	return evalJS[bool](ctx, t, `performance.getEntriesByType("resource").some(e => e.name.includes("protocompiler.wasm"))`)
}

// fileErrors returns the messages beside the file input.
func fileErrors(ctx context.Context, t *testing.T) []string {
	t.Helper()
	return evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] [data-role="schema-errors"] li')].map(li => li.textContent)`)
}

// giveFiles gives the explorer files through its file input.
func giveFiles(paths ...string) chromedp.Action[chromedp.Void] {
	return chromedp.SetUploadFiles(ex(`input[type="file"][name="schema"]`), paths)
}

// dropFiles drops files on the middle of the explorer as a person drags
// them from a file manager: the browser's own drag events, dragenter,
// dragover and drop, with the files in their DataTransfer.
func dropFiles(paths ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		at, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
			const x = document.querySelector("[data-explorer]");
			x.scrollIntoView({block: "center"});
			const r = x.getBoundingClientRect();
			return [r.left + r.width / 2, Math.max(r.top, 0) + Math.min(r.height, innerHeight) / 3]; })()`))
		if err != nil {
			return err
		}
		data := &input.DragData{Items: []*input.DragDataItem{}, Files: paths, DragOperationsMask: 1}
		for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
			if _, err := chromedp.Call(ctx, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: at[0], Y: at[1], Data: data}); err != nil {
				return fmt.Errorf("%s: %w", typ, err)
			}
		}
		return nil
	})
}

// waitPageSchema waits until the explorer shows a schema from files given
// to the page whose status says text, a method's request in its editors.
func waitPageSchema(text string) chromedp.Action[chromedp.Void] {
	return waitJS(`(() => { const e = document.querySelector('[data-explorer] [data-role="schema-status"]');
		return e.dataset.source === "page" && e.dataset.state === "ready" && e.textContent.startsWith(` + fmt.Sprintf("%q", text) + `) &&
			e.closest("[data-explorer]").hasAttribute("data-current"); })()`)
}

// getFeature calls GetFeature at the first feature's place through the
// explorer and checks the reply names it.
func getFeature(ctx context.Context, t *testing.T) {
	t.Helper()
	code, resps := exCall(ctx, t, "/routeguide.RouteGuide/GetFeature", `{"latitude": 407838351, "longitude": -746143763}`)
	if code != "OK" || len(resps) != 1 || get(resps[0], "name") != routeguidetest.Features[0].GetName() {
		t.Fatalf("GetFeature: status %q, responses %v", code, resps)
	}
}

// routeChat opens RouteChat, a bidi stream, and sends two notes at a
// place of its own (the backend keeps every note): the second is answered
// with the first.
func routeChat(ctx context.Context, t *testing.T, place int, tag string) {
	t.Helper()
	n := historyLen(ctx, t)
	note := func(msg string) string {
		return fmt.Sprintf(`{"location": {"latitude": %d, "longitude": 2}, "message": "%s %s"}`, place, tag, msg)
	}
	run(ctx, t, "RouteChat", exSet("method", "/routeguide.RouteGuide/RouteChat"), exClick("open"),
		waitFor(ex(`[data-action="send"]:not([disabled])`)), exSet("request", note("first")), exClick("send"),
		waitPresent(ex(`[data-role="responses"] > [data-role="request"]`)), exSet("request", note("second")), exClick("send"),
		waitPresent(ex(`[data-role="responses"] > [data-role="response"]`)), exClick("close-send"), waitHistory(n))
	resps := exResponses(ctx, t)
	if code := exStatus(ctx, t); code != "OK" || len(resps) != 1 || get(resps[0], "message") != tag+" first" {
		t.Fatalf("RouteChat: status %q, responses %v; want the first note back", code, resps)
	}
}

// TestExplorerWithServerFiles: a front given route_guide.proto (as -proto
// and -import-path do) answers reflection from it, so the explorer lists
// and calls a backend whose reflection is off, and says where the schema
// came from.
func TestExplorerWithServerFiles(t *testing.T) {
	backend := routeguidetest.Start(t)
	files, err := protofiles.Load(context.Background(), protofiles.Sources{
		Protos: []string{routeguidetest.ProtoFile}, ImportPaths: []string{routeguidetest.ProtoDir(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := servertest.Start(t, server.Config{Backend: &front.Backend{Addr: backend}, Schema: files}, servertest.WithoutStore())
	ctx := browser(t)
	defer func() {
		if t.Failed() {
			t.Logf("explorer: %s", explorerState(ctx))
		}
	}()
	openFront(ctx, t, ts.URL, 1440)
	state, source, status := schemaState(ctx, t)
	if source != "server-files" || attr(ctx, t, ex(`[data-role="schema-status"]`), "data-version") != "v1" ||
		!strings.HasPrefix(status, "Server reflection v1, answered from the server's schema files: ") {
		t.Fatalf("schema status %s/%s %q; want reflection v1 from the server's files", state, source, status)
	}
	if got := listed(ctx, t); len(got) < 4 || strings.Join(got[:4], " ") != strings.Join(routeGuideMethods, " ") {
		t.Fatalf("methods %q; want route_guide's first", got)
	}
	getFeature(ctx, t)
	routeChat(ctx, t, 1, "server files")
}

// TestExplorerSchemaFromFiles: a front without schema files before a
// backend without reflection: the explorer says reflection failed; given a
// descriptor set (dropped on it), then .proto files (chosen, several at
// once, importing one another by folder and a well-known file), it lists
// and calls the backend, each time saying where the schema came from. The
// compiler program is fetched only once .proto files are given. A .proto
// with an error, or a missing import, is named beside the input with its
// file:line:col, and the schema in use stays usable; a descriptor set
// without a file it imports names it as reflection's missing files are.
func TestExplorerSchemaFromFiles(t *testing.T) {
	backend := routeguidetest.Start(t)
	ts := explorertest.StartFront(t, backend)
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	rgText, err := os.ReadFile(filepath.Join(routeguidetest.ProtoDir(t), routeguidetest.ProtoFile))
	if err != nil {
		t.Fatal(err)
	}
	routeGuide := write("ok/"+routeguidetest.ProtoFile, string(rgText))
	admin := write("ok/guide_admin.proto", guideAdmin)
	// route_guide.proto with a field number left out.
	const field = "int32 latitude = 1;"
	i := strings.Index(string(rgText), field)
	if i < 0 {
		t.Fatalf("route_guide.proto has no %q", field)
	}
	broken := write("broken/"+routeguidetest.ProtoFile, strings.Replace(string(rgText), field, "int32 latitude = ;", 1))
	line := strings.Count(string(rgText[:i]), "\n") + 1
	col := i - strings.LastIndex(string(rgText[:i]), "\n") + len("int32 latitude = ")
	// guide_admin.proto's descriptor alone, as protoc writes it without
	// --include_imports.
	b, err := protosource.CompileTexts(context.Background(), map[string]string{"guide_admin.proto": guideAdmin, "routeguide/route_guide.proto": string(rgText)})
	if err != nil {
		t.Fatal(err)
	}
	set := new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(b, set); err != nil {
		t.Fatal(err)
	}
	set.File = slices.DeleteFunc(set.File, func(f *descriptorpb.FileDescriptorProto) bool { return f.GetName() != "guide_admin.proto" })
	if b, err = proto.Marshal(set); err != nil {
		t.Fatal(err)
	}
	partial := write("guide_admin.protoset", string(b))
	wantSyntax := fmt.Sprintf("%s:%d:%d: syntax error: unexpected ';', expecting int literal", routeguidetest.ProtoFile, line, col)

	for _, width := range []int64{1440, 375} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browser(t)
			defer func() {
				if t.Failed() {
					t.Logf("explorer: %s; beside the input: %q", explorerState(ctx), fileErrors(ctx, t))
				}
			}()
			run(ctx, t, "open the front's page", chromedp.EmulateViewport(width, 1000), chromedp.Navigate(ts.URL+"/"),
				waitFor(`body[data-ready="true"]`), schemaReady())
			if state, _, status := schemaState(ctx, t); state != "error" || !strings.Contains(status, "server reflection failed") {
				t.Fatalf("schema status %s %q; want reflection's failure", state, status)
			}
			if compilerFetched(ctx, t) {
				t.Fatal("the .proto compiler was fetched before any .proto file was given")
			}
			if !evalJS[bool](ctx, t, `document.querySelector("[data-explorer] .schema-files").classList.contains("wanted")`) {
				t.Fatal("with no schema, the file input is not set off")
			}
			if width == 1440 {
				screenshot(ctx, t, "explorer-no-reflection.png")
			}

			run(ctx, t, "drop the descriptor set", dropFiles(routeguidetest.Protoset(t)),
				waitPageSchema("From route_guide.protoset, read in this browser: 1 service, 4 methods"))
			if got := listed(ctx, t); strings.Join(got, " ") != strings.Join(routeGuideMethods, " ") {
				t.Fatalf("methods from the descriptor set %q", got)
			}
			if attr(ctx, t, ex(`[data-role="schema-status"]`), "data-version") != "" {
				t.Fatal("a schema from a file given to the page names a reflection version")
			}
			if evalJS[bool](ctx, t, `document.querySelector("[data-explorer] .schema-files").classList.contains("wanted")`) {
				t.Fatal("with a schema in use, the file input is still set off")
			}
			getFeature(ctx, t)
			if compilerFetched(ctx, t) {
				t.Fatal("the .proto compiler was fetched for a descriptor set")
			}

			run(ctx, t, "give a .proto with an error", giveFiles(broken),
				waitPresent(ex(`[data-role="schema-errors"] li`)))
			if got := fileErrors(ctx, t); len(got) != 1 || got[0] != wantSyntax {
				t.Fatalf("beside the input: %q; want %q", got, wantSyntax)
			}
			if !compilerFetched(ctx, t) {
				t.Fatal("the .proto compiler was not fetched for a .proto file")
			}
			if width == 1440 {
				screenshot(ctx, t, "explorer-files.png")
			} else {
				screenshot(ctx, t, "explorer-files-phone.png")
				sizes := evalJS[[]int](ctx, t, `[document.documentElement.scrollWidth, window.innerWidth]`)
				if sizes[0] != sizes[1] {
					t.Fatalf("at 375 px the page scrolls sideways: %d wide", sizes[0])
				}
			}
			// The page still works, on the schema it had.
			if state, source, _ := schemaState(ctx, t); state != "ready" || source != "page" {
				t.Fatalf("after a .proto that does not compile the schema status is %s/%s", state, source)
			}
			getFeature(ctx, t)

			run(ctx, t, "give a .proto without its import", giveFiles(admin),
				waitJS(`document.querySelector('[data-explorer] [data-role="schema-errors"] li')?.textContent.startsWith("guide_admin.proto:3:8")`))
			if got, want := fileErrors(ctx, t), "guide_admin.proto:3:8: routeguide/route_guide.proto was not among the files given, needed by guide_admin.proto"; len(got) != 1 || got[0] != want {
				t.Fatalf("beside the input: %q; want %q", got, want)
			}

			run(ctx, t, "give both .proto files", giveFiles(routeGuide, admin),
				waitPageSchema("From guide_admin.proto, routeguide/route_guide.proto, read in this browser: 2 services, 5 methods"))
			if n := count(ctx, t, ex(`[data-role="schema-errors"] li`)); n != 0 {
				t.Fatalf("%d messages left beside the input after a schema that compiled", n)
			}
			if got := listed(ctx, t); len(got) != 5 || got[0] != "/guideadmin.GuideAdmin/Newest" || strings.Join(got[1:], " ") != strings.Join(routeGuideMethods, " ") {
				t.Fatalf("methods from the .proto files %q", got)
			}
			getFeature(ctx, t)
			routeChat(ctx, t, int(width), "page")

			// Reflection can be read again: it still fails, and the schema
			// from the files stays listed.
			run(ctx, t, "read reflection again", exClick("reload-schema"),
				waitJS(`document.querySelector('[data-explorer] [data-role="schema-status"]').dataset.state === "error"`))
			if got := listed(ctx, t); len(got) != 5 {
				t.Fatalf("after reflection failed again: methods %q", got)
			}
			getFeature(ctx, t)

			// A descriptor set without a file it imports: the file is named
			// as reflection's missing files are, and the service that needs
			// it cannot be described.
			run(ctx, t, "give a descriptor set that lacks an import", giveFiles(partial),
				waitPageSchema("From guide_admin.protoset, read in this browser: 1 service, 0 methods"))
			problems := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] [data-role="schema-problems"] li')].map(li => li.textContent)`)
			if want := "guide_admin.protoset does not hold routeguide/route_guide.proto, needed by guide_admin.proto"; len(problems) != 1 || problems[0] != want {
				t.Fatalf("problems %q; want %q", problems, want)
			}
			if info, n := text(ctx, t, ex(`[data-role="method-info"]`)), count(ctx, t, ex(`form button:not([disabled])`)); !strings.HasPrefix(info, "The schema has no method that can be called") || n != 0 {
				t.Fatalf("with no method to call: %q, %d buttons enabled", info, n)
			}
		})
	}
}
