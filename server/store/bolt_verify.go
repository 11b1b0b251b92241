package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// bbolt memory-maps its file and trusts every page id and offset it finds
// there: a damaged page makes it panic, and a page past the end of a
// truncated file makes it fault (SIGBUS), which no recover catches. So before
// bbolt maps a file, verifyBoltFile walks the file's structure with plain
// reads, every offset checked: the meta page, the file's length against the
// pages the meta counts, each bucket's B+tree (nested and inline buckets
// included) and the freelist. A file that passes gives bbolt only page ids in
// range, pages of the expected type and elements inside their pages.
//
// The layout read here is bbolt's on-disk format, version 2 (internal/common
// in go.etcd.io/bbolt): a 16-byte page header (id, flags, count, overflow),
// then the page's elements.

// The on-disk constants of bbolt's format, version 2.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16
	elementSize      = 16 // a branch element (pos, ksize, pgid) and a leaf element (flags, pos, ksize, vsize)
	bucketHeaderSize = 16 // root pgid, sequence
	metaSize         = 64 // through the checksum
	metaSummedSize   = 56 // the bytes the checksum covers

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01

	noFreelist = ^uint64(0)
	// maxPageSize bounds the page size a meta may claim (bbolt probes up to
	// 16 MiB); minPageSize is room for a header and a meta.
	minPageSize = 128
	maxPageSize = 16 << 20
)

// errDamaged marks a file whose structure is broken.
var errDamaged = errors.New("damaged")

// boltMeta is the part of a meta page the check needs.
type boltMeta struct {
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64
	hwm      uint64 // the high water mark: every page in use is below it
	txid     uint64
}

// parseMeta reads a meta page from b, which starts at the page header; ok is
// false when the magic, version or checksum is wrong.
func parseMeta(b []byte) (m boltMeta, ok bool) {
	if len(b) < pageHeaderSize+metaSize {
		return m, false
	}
	d := b[pageHeaderSize:]
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(d[:metaSummedSize])
	if le.Uint32(d[0:]) != boltMagic || le.Uint32(d[4:]) != boltVersion || le.Uint64(d[56:]) != h.Sum64() {
		return m, false
	}
	return boltMeta{
		pageSize: le.Uint32(d[8:]),
		root:     le.Uint64(d[16:]),
		freelist: le.Uint64(d[32:]),
		hwm:      le.Uint64(d[40:]),
		txid:     le.Uint64(d[48:]),
	}, true
}

// Page states during the walk.
const (
	pageUnseen = iota
	pageInUse
	pageFree
)

// boltFile is a bbolt file being verified, read with ReadAt only.
type boltFile struct {
	r        io.ReaderAt
	size     int64
	pageSize uint64
	meta     boltMeta
	state    []uint8 // per page below the high water mark
}

// verifyBoltFile checks the structure of the bbolt file r of size bytes, as
// bbolt would open it: the valid meta page with the highest transaction id.
// Its errors wrap errDamaged, except a read error, which is returned as is.
func verifyBoltFile(r io.ReaderAt, size int64) error {
	f := &boltFile{r: r, size: size}
	if err := f.readMeta(); err != nil {
		return err
	}
	f.state = make([]uint8, f.meta.hwm)
	if err := f.walkTree(f.meta.root, 0); err != nil {
		return err
	}
	return f.checkFreelist()
}

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errDamaged}, args...)...)
}

// readMeta finds the page size and picks the meta page bbolt would use.
func (f *boltFile) readMeta() error {
	first := make([]byte, 4096)
	if f.size < int64(len(first)) {
		return damaged("%d bytes is too short for a bbolt file", f.size)
	}
	if _, err := f.r.ReadAt(first, 0); err != nil {
		return fmt.Errorf("read meta page 0: %w", err)
	}
	var metas []boltMeta
	m0, ok0 := parseMeta(first)
	pageSize := uint64(m0.pageSize)
	if !ok0 {
		// Page 0 is damaged: find page 1 by trying each page size, as bbolt does.
		pageSize = 0
		for ps := int64(1024); ps <= maxPageSize && ps+pageHeaderSize+metaSize <= f.size; ps <<= 1 {
			buf := make([]byte, pageHeaderSize+metaSize)
			if _, err := f.r.ReadAt(buf, ps); err != nil {
				return fmt.Errorf("read meta page 1: %w", err)
			}
			if m1, ok := parseMeta(buf); ok && int64(m1.pageSize) == ps {
				pageSize = uint64(ps)
				break
			}
		}
	} else {
		metas = append(metas, m0)
	}
	if pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0 {
		return damaged("no valid meta page (not a bbolt file, or both meta pages are damaged)")
	}
	f.pageSize = pageSize
	if ok0 || f.size >= int64(2*pageSize) {
		buf := make([]byte, pageHeaderSize+metaSize)
		if _, err := f.r.ReadAt(buf, int64(pageSize)); err != nil {
			return fmt.Errorf("read meta page 1: %w", err)
		}
		if m1, ok := parseMeta(buf); ok && uint64(m1.pageSize) == pageSize {
			metas = append(metas, m1)
		}
	}
	if len(metas) == 0 {
		return damaged("no valid meta page (not a bbolt file, or both meta pages are damaged)")
	}
	f.meta = metas[0]
	if len(metas) == 2 && metas[1].txid > metas[0].txid {
		f.meta = metas[1]
	}
	m := f.meta
	switch {
	case m.hwm < 3:
		return damaged("its meta page counts %d pages, fewer than a store has", m.hwm)
	case m.hwm > uint64(f.size)/pageSize && m.hwm <= ^uint64(0)/pageSize:
		return damaged("truncated: %d bytes, but its %d pages of %d bytes need %d", f.size, m.hwm, pageSize, m.hwm*pageSize)
	case m.hwm > uint64(f.size)/pageSize:
		return damaged("its meta page counts %d pages; the file holds %d", m.hwm, uint64(f.size)/pageSize)
	}
	if m.root < 2 || m.root >= m.hwm {
		return damaged("root bucket page %d is out of range [2, %d)", m.root, m.hwm)
	}
	if m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.hwm) {
		return damaged("freelist page %d is out of range [2, %d)", m.freelist, m.hwm)
	}
	return nil
}

// readPage reads page id with its overflow pages, checking that it is in
// range, says it is page id, and has one of the wanted flags; it marks its
// pages as in use.
func (f *boltFile) readPage(id uint64, flags ...uint16) ([]byte, error) {
	if id < 2 || id >= f.meta.hwm {
		return nil, damaged("page %d is out of range [2, %d)", id, f.meta.hwm)
	}
	buf := make([]byte, f.pageSize)
	if _, err := f.r.ReadAt(buf, int64(id*f.pageSize)); err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(buf); got != id {
		return nil, damaged("page %d says it is page %d", id, got)
	}
	flag := le.Uint16(buf[8:])
	overflow := uint64(le.Uint32(buf[12:]))
	found := false
	for _, want := range flags {
		found = found || flag == want
	}
	if !found {
		return nil, damaged("page %d has type %#x, want one of %#x", id, flag, flags)
	}
	if id+overflow >= f.meta.hwm {
		return nil, damaged("page %d runs %d pages past the high water mark %d", id, overflow, f.meta.hwm)
	}
	for p := id; p <= id+overflow; p++ {
		if f.state[p] != pageUnseen {
			return nil, damaged("page %d is referenced twice", p)
		}
		f.state[p] = pageInUse
	}
	if overflow > 0 {
		buf = append(buf, make([]byte, overflow*f.pageSize)...)
		if _, err := f.r.ReadAt(buf[f.pageSize:], int64((id+1)*f.pageSize)); err != nil {
			return nil, fmt.Errorf("read page %d: %w", id, err)
		}
	}
	return buf, nil
}

// maxDepth bounds the nesting of pages and buckets, far above any real tree.
const maxDepth = 64

// walkTree verifies the B+tree rooted at page id.
func (f *boltFile) walkTree(id uint64, depth int) error {
	if depth > maxDepth {
		return damaged("pages nested deeper than %d at page %d", maxDepth, id)
	}
	buf, err := f.readPage(id, branchPageFlag, leafPageFlag)
	if err != nil {
		return err
	}
	if binary.LittleEndian.Uint16(buf[8:]) == leafPageFlag {
		return f.walkLeaf(buf, id, depth)
	}
	return f.walkBranch(buf, id, depth)
}

// elements returns the count of page p's elements and checks that they fit.
func elements(p []byte, id uint64) (int, error) {
	n := int(binary.LittleEndian.Uint16(p[10:]))
	if pageHeaderSize+n*elementSize > len(p) {
		return 0, damaged("page %d: %d elements do not fit in %d bytes", id, n, len(p))
	}
	return n, nil
}

// span returns p[at+pos : at+pos+n], or an error when it is outside p.
func span(p []byte, at int, pos uint32, n uint64, id uint64) ([]byte, error) {
	start := uint64(at) + uint64(pos)
	end := start + n
	if end > uint64(len(p)) {
		return nil, damaged("page %d: an element's data [%d, %d) is outside the page's %d bytes", id, start, end, len(p))
	}
	return p[start:end], nil
}

func (f *boltFile) walkBranch(p []byte, id uint64, depth int) error {
	n, err := elements(p, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return damaged("branch page %d is empty", id)
	}
	le := binary.LittleEndian
	var prev []byte
	for i := range n {
		at := pageHeaderSize + i*elementSize
		key, err := span(p, at, le.Uint32(p[at:]), uint64(le.Uint32(p[at+4:])), id)
		if err != nil {
			return err
		}
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return damaged("branch page %d: keys out of order", id)
		}
		prev = key
		if err := f.walkTree(le.Uint64(p[at+8:]), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// walkLeaf verifies a leaf page (from the file, or inline in its bucket's
// value) and every bucket it holds.
func (f *boltFile) walkLeaf(p []byte, id uint64, depth int) error {
	n, err := elements(p, id)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	var prev []byte
	for i := range n {
		at := pageHeaderSize + i*elementSize
		flags, pos, ksize, vsize := le.Uint32(p[at:]), le.Uint32(p[at+4:]), le.Uint32(p[at+8:]), le.Uint32(p[at+12:])
		if flags&^bucketLeafFlag != 0 {
			return damaged("leaf page %d: element flags %#x", id, flags)
		}
		kv, err := span(p, at, pos, uint64(ksize)+uint64(vsize), id)
		if err != nil {
			return err
		}
		key, value := kv[:ksize], kv[ksize:]
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return damaged("leaf page %d: keys out of order", id)
		}
		prev = key
		if flags&bucketLeafFlag == 0 {
			continue
		}
		if len(value) < bucketHeaderSize {
			return damaged("leaf page %d: bucket %q has a %d-byte header", id, key, len(value))
		}
		if depth >= maxDepth {
			return damaged("buckets nested deeper than %d at page %d", maxDepth, id)
		}
		if root := le.Uint64(value); root != 0 {
			if err := f.walkTree(root, depth+1); err != nil {
				return err
			}
			continue
		}
		inline := value[bucketHeaderSize:]
		if len(inline) < pageHeaderSize || le.Uint16(inline[8:]) != leafPageFlag {
			return damaged("leaf page %d: inline bucket %q is not a leaf", id, key)
		}
		if err := f.walkLeaf(inline, id, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkFreelist verifies the freelist page: ids in range, none in use by the
// tree, none listed twice.
func (f *boltFile) checkFreelist() error {
	if f.meta.freelist == noFreelist {
		return nil
	}
	id := f.meta.freelist
	p, err := f.readPage(id, freelistPageFlag)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	count, at := uint64(le.Uint16(p[10:])), uint64(pageHeaderSize)
	if count == 0xFFFF {
		if len(p) < pageHeaderSize+8 {
			return damaged("freelist page %d is too short", id)
		}
		count, at = le.Uint64(p[pageHeaderSize:]), at+8
	}
	if count > (uint64(len(p))-at)/8 {
		return damaged("freelist page %d: %d ids do not fit in %d bytes", id, count, len(p))
	}
	for i := range count {
		free := le.Uint64(p[at+8*i:])
		switch {
		case free < 2 || free >= f.meta.hwm:
			return damaged("freelist page %d: free page %d is out of range [2, %d)", id, free, f.meta.hwm)
		case f.state[free] == pageInUse:
			return damaged("freelist page %d: page %d is both in use and free", id, free)
		case f.state[free] == pageFree:
			return damaged("freelist page %d: page %d is free twice", id, free)
		}
		f.state[free] = pageFree
	}
	return nil
}
