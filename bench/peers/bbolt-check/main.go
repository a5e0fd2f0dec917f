// Command bbolt-check opens a bbolt file read-only, the way Trivy does, runs the library's
// consistency check and prints the whole tree as JSON on stdout:
//
//	{"errors":["..."],"buckets":[{"key":"<hex>","entries":[{"key":"<hex>","value":"<hex>"}, ...]}]}
//
// A nested bucket is an entry with "entries" instead of "value". Keys and values are hex so
// that arbitrary bytes survive. Exit code 0 when the file opened, whatever Check found.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

type entry struct {
	Key     string   `json:"key"`
	Value   *string  `json:"value,omitempty"`
	Entries []*entry `json:"entries,omitempty"`
}

type report struct {
	Errors  []string `json:"errors"`
	Buckets []*entry `json:"buckets"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bbolt-check FILE")
		os.Exit(2)
	}
	db, err := bolt.Open(os.Args[1], 0o400, &bolt.Options{ReadOnly: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	defer db.Close()

	out := report{Errors: []string{}, Buckets: []*entry{}}
	err = db.View(func(tx *bolt.Tx) error {
		for checkErr := range tx.Check() {
			out.Errors = append(out.Errors, checkErr.Error())
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			node, err := dumpBucket(name, b)
			out.Buckets = append(out.Buckets, node)
			return err
		})
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(1)
	}
}

func dumpBucket(name []byte, b *bolt.Bucket) (*entry, error) {
	node := &entry{Key: hex.EncodeToString(name), Entries: []*entry{}}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			child, err := dumpBucket(k, b.Bucket(k))
			if err != nil {
				return nil, err
			}
			node.Entries = append(node.Entries, child)
			continue
		}
		// Get goes through the search path, so a broken branch key shows up as a miss.
		if got := b.Get(k); got == nil || string(got) != string(v) {
			return nil, fmt.Errorf("Get(%x) does not return the cursor's value", k)
		}
		value := hex.EncodeToString(v)
		node.Entries = append(node.Entries, &entry{Key: hex.EncodeToString(k), Value: &value})
	}
	return node, nil
}
