package explorer

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxGivenSize bounds the descriptor sets given to the page at once,
// together: more is refused before anything is read.
const MaxGivenSize = MaxDescriptorSetSize

// MaxGivenProtoSize bounds the .proto files given at once, together: the
// page's compiler takes no more (protosource.MaxTextsSize, which this
// package does not import: it would link the compiler into the explorer).
const MaxGivenProtoSize = 16 << 20

// MaxGivenFiles bounds how many files are given to the page at once.
const MaxGivenFiles = 500

// descriptorSetExts are the names a FileDescriptorSet goes by: protoc's
// --descriptor_set_out (.protoset, .pb, .desc) and buf build's (.binpb).
var descriptorSetExts = []string{".protoset", ".binpb", ".pb", ".desc"}

// GivenFile is a file given to the page's schema input, or dropped on the
// explorer: its name as the browser gives it (the base name) and its bytes.
type GivenFile struct {
	Name string
	Data []byte
}

// Given is a schema's files as the page was given them, sorted out: .proto
// sources to compile (ProtoCompiler.Schema), or descriptor sets to read
// (FromDescriptorSet), never both.
type Given struct {
	// Sources are the .proto files' texts, by the name their importers
	// spell: a file given as shared.proto that another imports as
	// "acme/shared.proto" goes by that name. Empty for descriptor sets.
	Sources map[string]string
	// Set holds the descriptor sets, one after the other: one set.
	Set []byte
	// Name names the files given, for Schema.Source and the page's status.
	Name string
}

// CheckGivenFiles says whether files of these names and sizes (in bytes)
// can be a schema, before they are read: .proto files, or descriptor sets
// (.protoset, .binpb, .pb, .desc), not both, at most MaxGivenFiles of them
// and MaxGivenProtoSize or MaxGivenSize together.
func CheckGivenFiles(names []string, sizes []int64) error {
	if len(names) == 0 {
		return errors.New("no file given")
	}
	if len(names) > MaxGivenFiles {
		return fmt.Errorf("%d files given at once; at most %d are taken", len(names), MaxGivenFiles)
	}
	var protos, sets int
	var total int64
	for i, name := range names {
		switch {
		case isProtoName(name):
			protos++
		case isDescriptorSetName(name):
			sets++
		default:
			return fmt.Errorf("%s is not a .proto file or a descriptor set (%s)", name, strings.Join(descriptorSetExts, ", "))
		}
		if i < len(sizes) {
			total += sizes[i]
		}
	}
	if protos > 0 && sets > 0 {
		return errors.New("give .proto files or descriptor sets, not both at once")
	}
	limit := int64(MaxGivenSize)
	if protos > 0 {
		limit = MaxGivenProtoSize
	}
	if total > limit {
		return fmt.Errorf("the files given hold %d bytes together, more than the %d taken here", total, limit)
	}
	return nil
}

// SortGivenFiles sorts out files given to the page (CheckGivenFiles says
// which are taken): descriptor sets go into one Set; .proto files must be
// UTF-8 text, and each takes the name another given file imports it by
// when only its base name matches that import, since a browser gives file
// names without their folders. Two files of one name are refused.
func SortGivenFiles(files []GivenFile) (*Given, error) {
	names := make([]string, len(files))
	sizes := make([]int64, len(files))
	for i, f := range files {
		names[i], sizes[i] = f.Name, int64(len(f.Data))
	}
	if err := CheckGivenFiles(names, sizes); err != nil {
		return nil, err
	}
	g := &Given{Name: strings.Join(names, ", ")}
	if !isProtoName(files[0].Name) {
		for _, f := range files {
			g.Set = append(g.Set, f.Data...)
		}
		return g, nil
	}
	g.Sources = make(map[string]string, len(files))
	for _, f := range files {
		if _, ok := g.Sources[f.Name]; ok {
			return nil, errors.New("two files are named " + f.Name + ": give files of different names")
		}
		if !utf8.Valid(f.Data) {
			return nil, errors.New(f.Name + " is not text (UTF-8): a .proto file is")
		}
		g.Sources[f.Name] = string(f.Data)
	}
	nameByImports(g.Sources)
	return g, nil
}

// importLine finds a .proto file's imports: import "a/b.proto";, with
// public or weak, in either quotes.
var importLine = regexp.MustCompile(`(?m)^\s*import\s+(?:(?:public|weak)\s+)?["']([^"']+)["']\s*;`)

// nameByImports renames, in sources, each file that another imports by a
// longer path ending in its name ("acme/shared.proto" for shared.proto),
// when no file has that path already; a file imported by two such paths
// takes the first in sorted order (the other import is then missing, and
// the compiler says so). The outcome does not depend on the map's order.
func nameByImports(sources map[string]string) {
	var imports []string
	for _, text := range sources {
		for _, m := range importLine.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(imports, m[1]) {
				imports = append(imports, m[1])
			}
		}
	}
	slices.Sort(imports)
	for _, imp := range imports {
		if _, ok := sources[imp]; ok {
			continue
		}
		if base := path.Base(imp); base != imp {
			if text, ok := sources[base]; ok {
				delete(sources, base)
				sources[imp] = text
			}
		}
	}
}

func isProtoName(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".proto") }

func isDescriptorSetName(name string) bool {
	lower := strings.ToLower(name)
	return slices.ContainsFunc(descriptorSetExts, func(ext string) bool { return strings.HasSuffix(lower, ext) })
}
