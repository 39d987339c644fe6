package engine

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/runbookhq/runbook/runbook/inventory"
)

// The frozen inventory reads back as the inventory it froze: every host,
// in order, with its connection settings, groups and vars, whatever their
// values look like.
func TestFrozenInventoryReadsBack(t *testing.T) {
	src := `all:
  vars:
    plain: text
    looks_like_bool: "yes"
    looks_like_int: "0123"
    looks_like_null: "null"
    empty: ""
    tilde: "~"
    number: 42
    big: 12345678901234
    ratio: 0.25
    whole_float: 1.0
    huge_float: 1e20
    tiny_float: 1e-7
    del: "a\x7fb"
    c1: "a\u0085b"
    bom: "\ufeffx"
    html: "<a href='x'>&</a>"
    line_separator: "a\u2028b"
    flag: true
    nothing: null
    multi: "one\ntwo\n"
    blank_lines: "one\n\n  two\n\n"
    indented_text: "  first\n    second\n"
    long: "a long line of words that goes well past the eighty columns at which an emitter might fold a plain scalar onto the next line"
    colon: "a: b"
    hash: "#not a comment"
    unicode: "ünï ✓"
    leading_space: "  x"
    list: [1, "2", {k: v}]
    nested: {b: [true, false], a: {deep: "yes"}}
  hosts:
    web-2: {address: 127.0.0.2, port: 2222, user: ops}
    web-3: {address: 127.0.0.3, vars_only_plain: {a: [1, "x"]}}
    web-1: {identity_file: ~/.ssh/id, proxy_jump: "bastion:22", script: "set -e\n\nif true; then\n  echo ok\nfi\n", deep: {list: ["x\n\ny", {z: "  w\n"}]}}
  children:
    canary:
      hosts:
        web-1:
`
	freezeReadsBack(t, src)
}

// A host whose vars JSON writes as YAML reads them is written on one line
// (appendFlowHost), and reads back the same; one that holds something else
// (a DEL here) is left to yaml.v3's encoder.
func TestFrozenInventoryFlowLines(t *testing.T) {
	src := `all:
  vars:
    looks_like_bool: "yes"
    looks_like_int: "0123"
    looks_like_null: "null"
    tilde: "~"
    empty: ""
    quotes: "it's \"quoted\" \\ back"
    html: "<a href='x'>&amp;</a>"
    text: "one\ntwo\ttab\n"
    separators: "a\u2028b\u2029c"
    unicode: "ünï ✓ 🚀"
    control: "bell\a"
    number: 42
    big: 12345678901234
    ratio: 0.25
    tiny: 1e-7
    huge: 1e21
    flag: false
    nothing: null
    list: [1, "2", {k: v}, [], {}]
    nested: {b: [true, false], a: {deep: "a: b # c"}}
  hosts:
    web-1: {address: 127.0.0.2, port: 2222, user: ops}
    web-2: {identity_file: ~/.ssh/id, proxy_jump: "bastion:22"}
    web-3: {odd: "a\x7fb"}
    web-4:
  children:
    canary:
      hosts:
        web-2:
`
	data := freezeReadsBack(t, src)
	for _, name := range []string{"web-1", "web-2", "web-4"} {
		if !bytes.Contains(data, []byte("\n    \""+name+"\": {")) {
			t.Errorf("%s is not written on one line:\n%s", name, data)
		}
	}
	if !bytes.Contains(data, []byte("\n    web-3:\n")) {
		t.Errorf("web-3 is not left to the YAML encoder:\n%s", data)
	}
}

// freezeReadsBack freezes the inventory src and fails t unless it reads
// back (checkReadsBack); it returns the frozen inventory.
func freezeReadsBack(t *testing.T, src string) []byte {
	t.Helper()
	inv, err := inventory.Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	data, err := frozenInventory(inv)
	if err != nil {
		t.Fatal(err)
	}
	checkReadsBack(t, inv, data)
	return data
}

// checkReadsBack fails t unless data, the frozen inv, parses back to every
// host of inv, in order, with its settings, groups and vars.
func checkReadsBack(t *testing.T, inv *inventory.Inventory, data []byte) {
	t.Helper()
	back, err := inventory.Parse("frozen.yaml", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(back.Hosts) != len(inv.Hosts) {
		t.Fatalf("%d hosts, want %d\n%s", len(back.Hosts), len(inv.Hosts), data)
	}
	for i, h := range inv.Hosts {
		b := back.Hosts[i]
		if b.Name != h.Name || b.Address != h.Address || b.Port != h.Port || b.User != h.User ||
			b.IdentityFile != h.IdentityFile || b.ProxyJump != h.ProxyJump || !reflect.DeepEqual(b.Groups, h.Groups) {
			t.Errorf("host %d: %+v, want %+v", i, b, h)
		}
		for k, v := range h.Vars {
			if !sameValue(b.Vars[k], v) {
				t.Errorf("%s: var %s = %#v, want %#v\n%s", h.Name, k, b.Vars[k], v, data)
			}
		}
	}
}

// sameValue is reflect.DeepEqual with NaN equal to NaN: .nan must read
// back as NaN, which no NaN equals.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, sameValue)
	}
	return reflect.DeepEqual(a, b)
}

// FuzzFrozenInventoryReadsBack: whatever inventory parses, its frozen form
// (encoded host by host and indented into place) parses back to it.
func FuzzFrozenInventoryReadsBack(f *testing.F) {
	f.Add("all:\n  hosts:\n    a: {x: \"one\\n\\n  two\\n\"}\n    b:\n")
	f.Add("all:\n  vars: {l: [1, {k: \"  v\\n\"}], m: {n: null}}\n  hosts:\n    a:\n  children:\n    g:\n      hosts:\n        a:\n")
	f.Add("all:\n  hosts:\n    a: {s: \"#x\", t: \"a: b\", u: \"- c\", w: \"|\\n\"}\n")
	f.Add("all:\n  hosts:\n    a: {f: 1.0, g: 1e20, h: 2.5e-9, i: .inf, j: \"\\u2028\", k: \"<&>\"}\n")
	f.Add("all:\n  hosts:\n    a: {n: .nan, l: [.nan, {m: .NaN}]}\n")
	f.Fuzz(func(t *testing.T, src string) {
		inv, err := inventory.Parse("inv.yaml", []byte(src))
		if err != nil {
			return
		}
		data, err := frozenInventory(inv)
		if err != nil {
			t.Fatal(err)
		}
		checkReadsBack(t, inv, data)
	})
}

// BenchmarkFrozenInventory freezes an inventory of 1,000 hosts, each with
// its connection settings, a group and a few vars.
func BenchmarkFrozenInventory(b *testing.B) {
	var src strings.Builder
	src.WriteString("all:\n  vars: {role: worker, zone: eu-1, tags: [a, b]}\n  hosts:\n")
	for i := range 1000 {
		fmt.Fprintf(&src, "    node-%04d: {address: 127.0.%d.%d, port: 22, user: ops, identity_file: /keys/id, lock_path: /run/node.lock}\n", i, i/250, i%250+1)
	}
	src.WriteString("  children:\n    canary:\n      hosts:\n        node-0000:\n")
	inv, err := inventory.Parse("inv.yaml", []byte(src.String()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := frozenInventory(inv); err != nil {
			b.Fatal(err)
		}
	}
}
