// Package protofiles loads the schema files a server is given on its
// command line, for a backend whose reflection is off: .proto files,
// compiled at start (package proto/protosource, bufbuild/protocompile:
// proto2, proto3, edition 2023, the well-known imports built in), and
// FileDescriptorSet files (.protoset, .binpb, .pb), as protoc's
// --descriptor_set_out or buf build writes them. Load returns them as one
// *protoregistry.Files, ready for reflection to answer from
// (server/filereflection).
package protofiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcplay/playground/proto/protosource"
)

// Sources are the schema files given: the -proto, -import-path and
// -protoset flags.
type Sources struct {
	// Protos are .proto files: names relative to an import path, as
	// imports spell them ("acme/orders.proto"), or paths to files that lie
	// under one ("protos/acme/orders.proto" with -import-path protos), as
	// protoc takes them.
	Protos []string
	// ImportPaths are the folders imports are looked for in, in order;
	// none: the current directory.
	ImportPaths []string
	// Protosets are FileDescriptorSet files. One written without its
	// imports still loads when those it lacks are well-known files.
	Protosets []string
}

// Empty reports whether no file is given.
func (s Sources) Empty() bool { return len(s.Protos) == 0 && len(s.Protosets) == 0 }

// maxProtosetSize bounds a descriptor set file read at start.
const maxProtosetSize = 64 << 20

// Load compiles the .proto files and reads the descriptor sets, and
// returns every file of them with what they import. A .proto that does not
// compile gives a *protosource.Errors: the compiler's "file:line:col:
// message" lines, up to protosource.DefaultMaxErrors of them. A file in
// two sources must be the same in both; one no source holds and that is
// not a well-known file is named with the file that imports it.
func Load(ctx context.Context, s Sources) (*protoregistry.Files, error) {
	var sets []source
	if len(s.Protos) > 0 {
		names, err := protoNames(s.Protos, s.ImportPaths)
		if err != nil {
			return nil, err
		}
		missing := "was not found in the import paths (" + strings.Join(orDot(s.ImportPaths), ", ") + ")"
		files, err := protosource.Compile(ctx, names, protosource.Options{Open: protosource.Dirs(s.ImportPaths), Missing: missing})
		if err != nil {
			return nil, err
		}
		sets = append(sets, source{name: "-proto " + strings.Join(s.Protos, ", "), files: files})
	} else if len(s.ImportPaths) > 0 {
		return nil, errors.New("-import-path is for -proto files, and none is given")
	}
	for _, path := range s.Protosets {
		files, err := readProtoset(path)
		if err != nil {
			return nil, err
		}
		sets = append(sets, source{name: path, files: files})
	}
	return build(sets)
}

// source is the files of one -protoset, or of all the -proto files.
type source struct {
	name  string
	files []*descriptorpb.FileDescriptorProto
}

// readProtoset reads one FileDescriptorSet file.
func readProtoset(path string) ([]*descriptorpb.FileDescriptorProto, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("-protoset: %w", err)
	}
	if fi.Size() > maxProtosetSize {
		return nil, fmt.Errorf("-protoset %s: %d bytes, more than the %d a descriptor set may have here", path, fi.Size(), maxProtosetSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-protoset: %w", err)
	}
	set := new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(b, set); err != nil {
		return nil, fmt.Errorf("-protoset %s: not a FileDescriptorSet: %w", path, err)
	}
	if len(set.GetFile()) == 0 {
		return nil, fmt.Errorf("-protoset %s: holds no file descriptor", path)
	}
	for _, f := range set.GetFile() {
		if f.GetName() == "" {
			return nil, fmt.Errorf("-protoset %s: not a FileDescriptorSet: a file has no name", path)
		}
	}
	return set.GetFile(), nil
}

// protoNames turns the -proto arguments into names relative to the import
// paths, as protoc does: a path to a file under an import path becomes its
// name under it; anything else is taken as a name.
func protoNames(protos, importPaths []string) ([]string, error) {
	dirs := orDot(importPaths)
	names := make([]string, 0, len(protos))
	for _, p := range protos {
		name, ok := underImportPath(p, dirs)
		if !ok {
			if filepath.IsAbs(p) {
				return nil, fmt.Errorf("-proto %s: the file is not under any import path (%s); give -import-path with the folder its imports are relative to", p, strings.Join(dirs, ", "))
			}
			name = filepath.ToSlash(filepath.Clean(p))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// underImportPath returns p's name under the first import path it is a
// file in.
func underImportPath(p string, dirs []string) (string, bool) {
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return "", false
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	for _, dir := range dirs {
		d, err := filepath.Abs(dir)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(d, abs)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel), true
		}
	}
	return "", false
}

func orDot(importPaths []string) []string {
	if len(importPaths) == 0 {
		return []string{"."}
	}
	return importPaths
}

// build merges the sources into one registry: each file once, after what
// it imports.
func build(sets []source) (*protoregistry.Files, error) {
	b := &builder{
		byName: make(map[string]*descriptorpb.FileDescriptorProto),
		from:   make(map[string]string),
		state:  make(map[string]int),
		files:  new(protoregistry.Files),
	}
	var order []string
	for _, set := range sets {
		for _, f := range set.files {
			name := f.GetName()
			prev, ok := b.byName[name]
			if !ok {
				b.byName[name], b.from[name] = f, set.name
				order = append(order, name)
				continue
			}
			if !strings.HasPrefix(name, "google/protobuf/") && !sameFile(prev, f) {
				return nil, fmt.Errorf("%s is given twice, and differs: in %s and in %s", name, b.from[name], set.name)
			}
		}
	}
	for _, name := range order {
		if err := b.file(name, ""); err != nil {
			return nil, err
		}
	}
	return b.files, nil
}

// sameFile reports whether two descriptors of a file say the same, but for
// comments and source positions.
func sameFile(a, b *descriptorpb.FileDescriptorProto) bool {
	a, b = proto.CloneOf(a), proto.CloneOf(b)
	a.SourceCodeInfo, b.SourceCodeInfo = nil, nil
	return proto.Equal(a, b)
}

// builder builds the files of the sources into a registry.
type builder struct {
	byName map[string]*descriptorpb.FileDescriptorProto
	from   map[string]string // the source of each file, for errors
	state  map[string]int    // 1: being built, 2: built
	files  *protoregistry.Files
}

// file builds name and what it imports; neededBy names the file that
// imports it.
func (b *builder) file(name, neededBy string) error {
	switch b.state[name] {
	case 1:
		return fmt.Errorf("%s imports itself, through %s", name, neededBy)
	case 2:
		return nil
	}
	b.state[name] = 1
	defer func() { b.state[name] = 2 }()
	f, ok := b.byName[name]
	if !ok {
		fd, std := protosource.Standard(name)
		if !std {
			return fmt.Errorf("%s (in %s) imports %s, which no -proto or -protoset file holds (write a descriptor set with its imports: protoc --include_imports, or buf build)", neededBy, b.from[neededBy], name)
		}
		return b.register(fd, name, "the built-in well-known files")
	}
	for _, dep := range f.GetDependency() {
		if err := b.file(dep, name); err != nil {
			return err
		}
	}
	fd, err := protodesc.NewFile(f, b.files)
	if err != nil {
		return fmt.Errorf("%s (in %s): %w", name, b.from[name], err)
	}
	return b.register(fd, name, b.from[name])
}

func (b *builder) register(fd protoreflect.FileDescriptor, name, from string) error {
	if err := b.files.RegisterFile(fd); err != nil {
		return fmt.Errorf("%s (in %s): %w", name, from, err)
	}
	return nil
}

// ServiceNames lists the full names of the services files declare, sorted:
// what reflection lists of them, and what the start-up log names.
func ServiceNames(files *protoregistry.Files) []string {
	var names []string
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			names = append(names, string(fd.Services().Get(i).FullName()))
		}
		return true
	})
	slices.Sort(names)
	return names
}
