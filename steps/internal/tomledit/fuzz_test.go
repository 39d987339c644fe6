package tomledit

import (
	"reflect"
	"testing"
)

// FuzzEdit sets and then unsets a key of any document: whatever parses
// must edit into a document holding exactly the old values with that key
// changed, and the edit must be idempotent. Seeds: testdata/fuzz/FuzzEdit.
func FuzzEdit(f *testing.F) {
	f.Add(crioDropIn, "crio.runtime.default_runtime", "runc")
	f.Add("[a]\nt = {x = 1}\n", "a.t.y", "v")
	f.Add("[crio]\nruntime.x = 1\n", "crio.runtime.y", "v")
	f.Add("a = 1\r\n[b]\r\n", `"q.k".z`, "")
	f.Fuzz(func(t *testing.T, src, keyText, value string) {
		d, err := Parse([]byte(src))
		if err != nil {
			return
		}
		key, err := ParseKey(keyText)
		if err != nil {
			return
		}
		before, _ := decode([]byte(src))
		changed, err := d.Set(key, value)
		if err != nil {
			if string(d.Bytes()) != src {
				t.Fatalf("a refused edit changed the document: %q", d.Bytes())
			}
			return
		}
		after, err := decode(d.Bytes())
		if err != nil {
			t.Fatalf("the edit broke the document: %v\n%s", err, d.Bytes())
		}
		want := cloneMap(before)
		setIn(want, key, value)
		if !reflect.DeepEqual(after, want) {
			t.Fatalf("set %s = %q: got %v, want %v", key, value, after, want)
		}
		if changed == reflect.DeepEqual(before, after) {
			t.Fatalf("changed = %v, but the values say otherwise", changed)
		}
		if again, err := d.Set(key, value); err != nil || again {
			t.Fatalf("second set: changed %v, %v", again, err)
		}
		if _, err := d.Unset(key); err != nil {
			return // the key may sit where only a whole value can change
		}
		gone, err := decode(d.Bytes())
		if err != nil {
			t.Fatalf("the unset broke the document: %v\n%s", err, d.Bytes())
		}
		if _, found, _ := lookup(gone, key); found {
			t.Fatalf("%s still there after unset:\n%s", key, d.Bytes())
		}
	})
}
