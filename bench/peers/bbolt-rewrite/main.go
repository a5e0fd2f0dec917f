// Command bbolt-rewrite copies every bucket, key and value of a bbolt file into a new file the
// way an ordinary Go program loads data: read-write transactions of the bbolt v1.5.0 library
// with its default options (fsync on every commit, 50 % fill), BATCH puts per db.Update, or
// everything in one transaction with -batch 0. It is the peer that bench/trivy-db.ts measures
// our forward-only writer against.
//
//	bbolt-rewrite [-batch 10000] [-nosync] SRC DST
//	{"seconds":1.2,"keys":100000,"buckets":40,"transactions":11,"bytes":123,"maxRssMb":80}
//
// Only the write side is timed: each batch is gathered from SRC first, then written by one
// db.Update; opening and closing DST count as writing. The gathered keys and values point
// into SRC's read-only mmap, which stays valid while SRC's read transaction is open.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

const rootID = -1

type result struct {
	Seconds      float64 `json:"seconds"`
	Keys         int     `json:"keys"`
	Buckets      int     `json:"buckets"`
	Transactions int     `json:"transactions"`
	Bytes        int64   `json:"bytes"`
	MaxRssMb     float64 `json:"maxRssMb"`
}

func main() {
	batch := flag.Int("batch", 10000, "puts per read-write transaction (0: one transaction)")
	noSync := flag.Bool("nosync", false, "open DST with NoSync (no fsync per commit)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: bbolt-rewrite [-batch N] [-nosync] SRC DST")
		os.Exit(2)
	}
	out, err := rewrite(flag.Arg(0), flag.Arg(1), *batch, *noSync)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bbolt-rewrite:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(1)
	}
}

func rewrite(srcPath, dstPath string, batch int, noSync bool) (*result, error) {
	// Loading into an existing file would measure something else (and change someone's data).
	if _, err := os.Stat(dstPath); !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s already exists", dstPath)
	}
	src, err := bolt.Open(srcPath, 0o400, &bolt.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", srcPath, err)
	}
	defer src.Close()

	out := &result{}
	err = src.View(func(tx *bolt.Tx) error {
		return copyAll(tx, dstPath, batch, noSync, out)
	})
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(dstPath)
	if err != nil {
		return nil, err
	}
	out.Bytes = info.Size()
	out.MaxRssMb = maxRssMb()
	return out, nil
}

// copyAll alternates between gathering a batch from the source (not timed) and writing it
// (timed), so memory stays at one batch plus what bbolt itself holds.
func copyAll(srcTx *bolt.Tx, dstPath string, batch int, noSync bool, out *result) error {
	walk := newWalker(srcTx)
	var spent time.Duration
	start := time.Now()
	dst, err := bolt.Open(dstPath, 0o600, &bolt.Options{NoSync: noSync})
	if err != nil {
		return fmt.Errorf("open %s: %w", dstPath, err)
	}
	spent += time.Since(start)
	load := &loader{db: dst, walk: walk}
	for {
		ops, err := walk.gather(batch)
		if err != nil || len(ops) == 0 {
			var closeErr error
			spent += timed(func() { closeErr = dst.Close() })
			out.Seconds = spent.Seconds()
			return errors.Join(err, closeErr)
		}
		var writeErr error
		spent += timed(func() { writeErr = load.write(ops) })
		if writeErr != nil {
			dst.Close()
			return writeErr
		}
		out.Transactions++
		count(ops, out)
	}
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func count(ops []op, out *result) {
	for _, o := range ops {
		if o.created == noBucket {
			out.Keys++
		} else {
			out.Buckets++
		}
	}
}

// op is one write: a put of key/value into bucket, or, when created is a bucket id, the
// creation of that (nested) bucket named key inside bucket.
type op struct {
	bucket   int
	created  int
	sequence uint64
	key      []byte
	value    []byte
}

const noBucket = -2

type bucketRef struct {
	parent int
	name   []byte
}

type frame struct {
	id      int
	bucket  *bolt.Bucket // nil for the root, whose entries are top-level buckets
	cursor  *bolt.Cursor
	started bool
}

// walker visits the source depth-first in key order, a bucket's creation before its content.
type walker struct {
	tx      *bolt.Tx
	buckets []bucketRef
	stack   []frame
}

func newWalker(tx *bolt.Tx) *walker {
	return &walker{tx: tx, stack: []frame{{id: rootID, cursor: tx.Cursor()}}}
}

func (w *walker) gather(limit int) ([]op, error) {
	var ops []op
	for limit <= 0 || len(ops) < limit {
		o, ok, err := w.next()
		if err != nil || !ok {
			return ops, err
		}
		ops = append(ops, o)
	}
	return ops, nil
}

func (w *walker) next() (op, bool, error) {
	for len(w.stack) > 0 {
		top := &w.stack[len(w.stack)-1]
		k, v := top.step()
		if k == nil {
			w.stack = w.stack[:len(w.stack)-1]
			continue
		}
		// A cursor gives a nil value exactly for a nested bucket; an empty value is non-nil.
		if v != nil {
			return op{bucket: top.id, created: noBucket, key: k, value: v}, true, nil
		}
		child := top.child(w.tx, k)
		if child == nil {
			return op{}, false, fmt.Errorf("entry %x has no value and is not a bucket", k)
		}
		id := len(w.buckets)
		w.buckets = append(w.buckets, bucketRef{parent: top.id, name: k})
		created := op{bucket: top.id, created: id, sequence: child.Sequence(), key: k}
		w.stack = append(w.stack, frame{id: id, bucket: child, cursor: child.Cursor()})
		return created, true, nil
	}
	return op{}, false, nil
}

func (f *frame) step() ([]byte, []byte) {
	if f.started {
		return f.cursor.Next()
	}
	f.started = true
	return f.cursor.First()
}

func (f *frame) child(tx *bolt.Tx, name []byte) *bolt.Bucket {
	if f.bucket == nil {
		return tx.Bucket(name)
	}
	return f.bucket.Bucket(name)
}

// loader applies ops in read-write transactions. Bucket handles live only as long as their
// transaction, so each transaction looks a bucket up again (once) by its path of names.
type loader struct {
	db     *bolt.DB
	walk   *walker
	handle map[int]*bolt.Bucket
}

func (l *loader) write(ops []op) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		l.handle = map[int]*bolt.Bucket{}
		for _, o := range ops {
			if err := l.apply(tx, o); err != nil {
				return err
			}
		}
		return nil
	})
}

func (l *loader) apply(tx *bolt.Tx, o op) error {
	if o.created == noBucket {
		return l.bucket(tx, o.bucket).Put(o.key, o.value)
	}
	var created *bolt.Bucket
	var err error
	if o.bucket == rootID {
		created, err = tx.CreateBucket(o.key)
	} else {
		created, err = l.bucket(tx, o.bucket).CreateBucket(o.key)
	}
	if err != nil {
		return fmt.Errorf("create bucket %x: %w", o.key, err)
	}
	l.handle[o.created] = created
	if o.sequence == 0 {
		return nil
	}
	return created.SetSequence(o.sequence)
}

func (l *loader) bucket(tx *bolt.Tx, id int) *bolt.Bucket {
	if b, ok := l.handle[id]; ok {
		return b
	}
	ref := l.walk.buckets[id]
	var b *bolt.Bucket
	if ref.parent == rootID {
		b = tx.Bucket(ref.name)
	} else {
		b = l.bucket(tx, ref.parent).Bucket(ref.name)
	}
	l.handle[id] = b
	return b
}

func maxRssMb() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Maxrss) / 1024 // kilobytes on Linux
}
