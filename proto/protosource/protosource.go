// Package protosource compiles .proto sources into descriptors with
// bufbuild/protocompile, a pure-Go compiler (proto2, proto3 and edition
// 2023), for both sides of the playground: the server's -proto flag, which
// reads files under import paths on disk, and the page's compiler
// (wasm/protocompiler), which is given the files' text. The well-known
// imports (google/protobuf/*.proto) are built in, as protoc's are.
//
// A source that does not compile gives an *Errors holding the compiler's
// messages, "file:line:col: message", all of them up to a bound; an import
// that is not there is named with the file that needs it, as the explorer
// names a file reflection did not return.
package protosource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/ast"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// DefaultMaxErrors is how many of the compiler's messages an *Errors holds
// when Options.MaxErrors is not set.
const DefaultMaxErrors = 20

// Options say where the sources are and how to word what is missing.
type Options struct {
	// Open returns the source of a file by its name as imports spell it
	// ("acme/orders.proto"), or an error wrapping fs.ErrNotExist when there
	// is none. Dirs and Texts make one.
	Open func(name string) (io.ReadCloser, error)
	// Missing ends the message for an import Open has not: "acme/shared.proto
	// " + Missing + ", needed by acme/orders.proto". Empty: "was not found".
	Missing string
	// MaxErrors bounds the messages kept: the compiler stops at the next
	// one. Zero: DefaultMaxErrors.
	MaxErrors int
}

// Errors are the compiler's messages for sources that did not compile.
type Errors struct {
	// Messages are "file:line:col: message", in the order the compiler
	// reported them (a file missing from the start has no position).
	Messages []string
	// Truncated says the compiler stopped at the bound: there may be more.
	Truncated bool
}

func (e *Errors) Error() string {
	s := strings.Join(e.Messages, "\n")
	if e.Truncated {
		s += fmt.Sprintf("\n(stopped after %d errors)", len(e.Messages))
	}
	return s
}

// errStop is what the reporter returns to stop the compiler at the bound.
var errStop = errors.New("protosource: too many errors")

// Compile compiles the files named (as imports spell them) and returns
// them with every file they import, each once and after its imports: the
// order of a FileDescriptorSet written with --include_imports. The
// descriptors are built again by protodesc, so they are the protobuf
// module's own, as a FileDescriptorSet read from disk would give.
func Compile(ctx context.Context, names []string, opts Options) ([]*descriptorpb.FileDescriptorProto, error) {
	if len(names) == 0 {
		return nil, errors.New("no .proto file to compile")
	}
	max := opts.MaxErrors
	if max <= 0 {
		max = DefaultMaxErrors
	}
	missing := opts.Missing
	if missing == "" {
		missing = "was not found"
	}
	// The compiler reports from a goroutine per file, and a file's
	// goroutine may still report after Compile has returned (one that was
	// waiting its turn when another file failed): the reports are kept
	// under a lock and read once, as a copy.
	var (
		mu        sync.Mutex
		reported  []error
		truncated bool
	)
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{Accessor: opts.Open}),
		Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
			mu.Lock()
			defer mu.Unlock()
			if len(reported) >= max {
				truncated = true
				return errStop
			}
			reported = append(reported, err)
			return nil
		}, nil),
		SourceInfoMode: protocompile.SourceInfoStandard,
		// One file at a time: an import cycle is then found once, by the
		// file that closes it, rather than by one or both of its files
		// as the goroutines happen to run. Schemas compile in
		// milliseconds; the browser runs one thread anyway.
		MaxParallelism: 1,
	}
	files, err := c.Compile(ctx, names...)
	if err != nil {
		mu.Lock()
		reported, truncated := slices.Clone(reported), truncated
		mu.Unlock()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		// Errors the compiler returns rather than reports: an import that
		// is not there, a file named that is not there.
		if !errors.Is(err, reporter.ErrInvalidSource) && !errors.Is(err, errStop) && len(reported) < max {
			reported = append(reported, err)
		}
		return nil, newErrors(reported, missing, truncated)
	}
	return ordered(files), nil
}

// newErrors words the compiler's errors, in the order of their files and
// positions (the compiler works on files in parallel), each once.
func newErrors(reported []error, missing string, truncated bool) *Errors {
	slices.SortStableFunc(reported, func(a, b error) int {
		pa, pb := position(a), position(b)
		return cmp.Or(cmp.Compare(pa.Filename, pb.Filename), cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Col, pb.Col))
	})
	errs := &Errors{Truncated: truncated}
	for _, err := range reported {
		if msg := describe(err, missing); !slices.Contains(errs.Messages, msg) {
			errs.Messages = append(errs.Messages, msg)
		}
	}
	return errs
}

// position is where an error is, or the zero position for one that has
// none (a file named that is not there).
func position(err error) ast.SourcePos {
	var ewp reporter.ErrorWithPos
	if errors.As(err, &ewp) {
		return ewp.GetPosition()
	}
	return ast.SourcePos{}
}

// ordered lists files with their imports, each after what it imports, once.
func ordered(files linker.Files) []*descriptorpb.FileDescriptorProto {
	var out []*descriptorpb.FileDescriptorProto
	seen := make(map[string]bool)
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		out = append(out, protodesc.ToFileDescriptorProto(fd))
	}
	for _, f := range files {
		visit(f)
	}
	return out
}

// notThere is Open's error for a file it does not have.
type notThere struct{ name string }

func (e *notThere) Error() string        { return e.name + ": file does not exist" }
func (e *notThere) Is(target error) bool { return target == fs.ErrNotExist }

// describe words one of the compiler's errors: its own text, but an import
// that is not there as "pos: NAME <missing>, needed by FILE".
func describe(err error, missing string) string {
	var nt *notThere
	if !errors.As(err, &nt) {
		return err.Error()
	}
	pos := position(err)
	if pos.Filename == "" {
		return nt.name + " " + missing
	}
	return fmt.Sprintf("%s: %s %s, needed by %s", pos, nt.name, missing, pos.Filename)
}

// Texts returns an Open over sources given as text, by name. The map is
// not copied: it must not change while a compile runs.
func Texts(sources map[string]string) func(string) (io.ReadCloser, error) {
	return func(name string) (io.ReadCloser, error) {
		src, ok := sources[name]
		if !ok {
			return nil, &notThere{name}
		}
		return io.NopCloser(strings.NewReader(src)), nil
	}
}

// Dirs returns an Open over files on disk: a name is looked for under each
// import path in turn, as protoc's -I does; no import path: the current
// directory.
func Dirs(importPaths []string) func(string) (io.ReadCloser, error) {
	if len(importPaths) == 0 {
		importPaths = []string{"."}
	}
	return func(name string) (io.ReadCloser, error) {
		for _, dir := range importPaths {
			f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
			if err == nil {
				return f, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		return nil, &notThere{name}
	}
}

// Standard returns the well-known file of that name
// ("google/protobuf/timestamp.proto"), as the compiler has it built in, or
// false when name is not one.
func Standard(name string) (protoreflect.FileDescriptor, bool) {
	none := protocompile.ResolverFunc(func(string) (protocompile.SearchResult, error) {
		return protocompile.SearchResult{}, fs.ErrNotExist
	})
	res, err := protocompile.WithStandardImports(none).FindFileByPath(name)
	if err != nil || res.Desc == nil {
		return nil, false
	}
	return res.Desc, true
}

// MaxTextsSize bounds the sources CompileTexts takes, all files together.
const MaxTextsSize = 16 << 20

// CompileTexts compiles every file of sources (name: text), as the page's
// compiler does: each may import the others and the well-known files, and
// an import of none of them is "NAME was not among the files given, needed
// by FILE". It returns the files and what they import as a serialized
// FileDescriptorSet, each file after its imports.
func CompileTexts(ctx context.Context, sources map[string]string) ([]byte, error) {
	size := 0
	for name, text := range sources {
		size += len(name) + len(text)
	}
	if size > MaxTextsSize {
		return nil, fmt.Errorf("the files given are %d bytes, more than the %d that are compiled here", size, MaxTextsSize)
	}
	names := slices.Sorted(maps.Keys(sources))
	files, err := Compile(ctx, names, Options{Open: Texts(sources), Missing: "was not among the files given"})
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(&descriptorpb.FileDescriptorSet{File: files})
}
