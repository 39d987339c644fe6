package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A run is named by its id, a prefix only it has, or "last".
func TestResolveRunID(t *testing.T) {
	state := t.TempDir()
	ids := []string{
		"20261127-101500-crio-upgrade-3f2a",
		"20261127-101500-crio-upgrade-0b1c", // same second: its journal is written last below
		"20261126-090000-kernel-update-aaaa",
		"20261126-090000-kernel-update-aaab",
	}
	base := time.Now().Add(-time.Hour)
	for i, id := range ids {
		dir, err := CreateRunDir(state, id)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, JournalFile)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		mod := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		arg, want, err string
	}{
		{arg: ids[0], want: ids[0]},
		{arg: "last", want: ids[1]},
		{arg: "20261127-101500-crio-upgrade-3", want: ids[0]},
		{arg: "20261126", err: `2 runs start with "20261126" (20261126-090000-kernel-update-aaaa, 20261126-090000-kernel-update-aaab): give more of the id`},
		{arg: "2025", err: `no run id in ` + state + ` starts with "2025"`},
		{arg: "../../etc", err: "is not a run id"},
		{arg: "", err: "is not a run id"},
	} {
		got, err := ResolveRunID(state, tt.arg)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ResolveRunID(%q) = %q, %v; want an error saying %q", tt.arg, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ResolveRunID(%q) = %q, %v; want %q", tt.arg, got, err, tt.want)
		}
	}
	if dir, err := FindRun(state, "last"); err != nil || filepath.Base(dir) != ids[1] {
		t.Errorf("FindRun(last) = %q, %v", dir, err)
	}
	if _, err := ResolveRunID(t.TempDir(), "last"); err == nil || !strings.Contains(err.Error(), "no run in") {
		t.Errorf("last in an empty state dir: %v", err)
	}
}
