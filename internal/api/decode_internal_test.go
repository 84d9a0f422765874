package api

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzTopLevelKeys: for every JSON object, topLevelKeys finds the keys
// encoding/json finds, in the same order as written.
func FuzzTopLevelKeys(f *testing.F) {
	for _, s := range []string{`{}`, `{"person":"id:1","from":"2020"}`, `{"txs":["a","b"],"x":{"y":[1,{"z":2}]}}`,
		`{"a\\"b":1, "c" : [ "d", {"e":"f"} ] ,"g":null}`, `{"\u00e9":true}`, ` { "k" : "v,}" } `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &m) != nil || m == nil {
			return
		}
		keys, err := topLevelKeys([]byte(s))
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("%q: found key %q that encoding/json does not", s, k)
			}
		}
		for k := range m {
			if !slices.Contains(keys, k) {
				t.Fatalf("%q: missed key %q", s, k)
			}
		}
	})
}
