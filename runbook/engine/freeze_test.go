package engine

import (
	"reflect"
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
    flag: true
    nothing: null
    multi: "one\ntwo\n"
    colon: "a: b"
    hash: "#not a comment"
    unicode: "ünï ✓"
    leading_space: "  x"
    list: [1, "2", {k: v}]
    nested: {b: [true, false], a: {deep: "yes"}}
  hosts:
    web-2: {address: 127.0.0.2, port: 2222, user: ops}
    web-1: {identity_file: ~/.ssh/id, proxy_jump: "bastion:22"}
  children:
    canary:
      hosts:
        web-1:
`
	inv, err := inventory.Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	data, err := frozenInventory(inv)
	if err != nil {
		t.Fatal(err)
	}
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
			if !reflect.DeepEqual(b.Vars[k], v) {
				t.Errorf("%s: var %s = %#v, want %#v\n%s", h.Name, k, b.Vars[k], v, data)
			}
		}
	}
}
